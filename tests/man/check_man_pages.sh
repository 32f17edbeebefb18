#!/usr/bin/env bash
# The man pages render without a single warning: groff's man macros with every warning on
# (-ww), and man-db's own pipeline (`man --warnings`, which also runs tbl/preconv as installed).
# Each page must also have its NAME section and say what it is (the first line of `man -l`).
#   check_man_pages.sh PAGE...
set -uo pipefail
status=0
for page in "$@"; do
    if [[ ! -s $page ]]; then
        echo "FAIL: $page is missing or empty"
        status=1
        continue
    fi
    warnings=$(groff -man -ww -z "$page" 2>&1)
    if [[ -n $warnings ]]; then
        echo "FAIL: groff -man -ww on $page:"
        echo "$warnings"
        status=1
    fi
    if command -v man >/dev/null; then
        warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null)
        if [[ -n $warnings ]]; then
            echo "FAIL: man --warnings on $page:"
            echo "$warnings"
            status=1
        fi
        text=$(LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$page" 2>/dev/null)
        name=$(basename "$page")
        if ! grep -q "^NAME" <<<"$text" || ! grep -q "^       ${name%.*} - " <<<"$text"; then
            echo "FAIL: $page has no NAME section naming ${name%.*}"
            status=1
        fi
    fi
done
((status == 0)) && echo "man pages: $# checked, no warnings"
exit $status
