#!/usr/bin/env bash
# The shell completions, driven as the shells drive them. bash (completion/pgvigil.bash):
# COMP_WORDS and COMP_CWORD set, the registered function called, COMPREPLY read. zsh
# (completion/_pgvigil): words and CURRENT set, compadd recorded (zsh_complete.zsh). The same
# expectations hold for both. The command and option lists
# are compared with what the binary itself says (`pgvigil --help`, `pgvigil COMMAND --help`), so a
# command or option added to the help table and not to the completion fails here; target names
# come from a real config through `pgvigil config show`.
#   test_completion.sh bash|zsh PGVIGIL_BINARY COMPLETION_FILE
set -uo pipefail
shell=$1
bin=$2
comp=$3
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
checks=0

if [[ $shell == bash ]]; then
    # shellcheck source=/dev/null
    source "$comp"
    func=$(complete -p pgvigil | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
    [[ -n $func ]] || { echo "FAIL: $comp registers no completion function for pgvigil"; exit 1; }
else
    head -1 "$comp" | grep -qx '#compdef pgvigil' || { echo "FAIL: $comp is not #compdef pgvigil"; exit 1; }
fi

# complete WORD... : the sorted completions with the cursor at the end of the last word.
complete_words() {
    if [[ $shell == zsh ]]; then
        zsh -f "$here/zsh_complete.zsh" "$comp" "$bin" "$@" | sort -u | tr '\n' ' ' | sed 's/ $//'
        return
    fi
    COMP_WORDS=("$bin" "$@")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE="${COMP_WORDS[*]}"
    COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    "$func" pgvigil "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" 2>/dev/null
    printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | sort -u | tr '\n' ' ' | sed 's/ $//'
}

# expect "WANTED (space separated, any order)" WORD...
expect() {
    local want
    want=$(printf '%s\n' $1 | sed '/^$/d' | sort -u | tr '\n' ' ' | sed 's/ $//')
    shift
    local got
    got=$(complete_words "$@")
    checks=$((checks + 1))
    if [[ $got != "$want" ]]; then
        echo "FAIL: pgvigil $* <TAB>"
        echo "  want: $want"
        echo "  got:  $got"
        failures=$((failures + 1))
    fi
}

# The binary's own lists. `pgvigil --help`: "  pgvigil VERB ..." lines; `pgvigil help VERB`:
# every "usage:" line's sub-command and the option column of "options:".
verbs=$("$bin" --help | sed -n 's/^  pgvigil \([a-z][a-z]*\).*/\1/p' | sort -u | tr '\n' ' ')
[[ $verbs == *run* && $verbs == *check* ]] || { echo "FAIL: cannot read the commands of '$bin --help'"; exit 1; }
flags_of() {  # flags_of VERB: the -x and --long flags of its help
    "$bin" help "$1" | awk '/^options:/{o=1; next} /^$/{o=0} o' |
        sed 's/^  \(.*\)$/\1/; s/  .*$//' | tr ', ' '\n\n' | grep '^-' | sort -u | tr '\n' ' '
}

# 1. Commands: exactly the binary's, plus the two global flags.
expect "$verbs --help --version" ""
expect "check config" c
# 2. Options of every command: exactly the ones its help lists.
for verb in $verbs; do
    case $verb in
        help | version) continue ;;
        config) expect "$(flags_of config)" config show - ;;
        service) expect "$(flags_of service)" service install - ;;
        *) expect "$(flags_of "$verb")" "$verb" - ;;
    esac
done
# 3. Sub-commands, from the usage lines of `pgvigil help VERB`.
for verb in config service; do
    subs=$("$bin" help "$verb" | sed -n "s/^usage: pgvigil $verb \([a-z]*\).*/\1/p" | tr '\n' ' ')
    expect "$subs" "$verb" ""
done
# 4. Option values.
expect "json text" check --format ""
expect "json" diagnose --format j
touch "$tmp/pgvigil.yaml" "$tmp/other.yaml"
expect "$tmp/other.yaml $tmp/pgvigil.yaml" check -c "$tmp/"

# 5. Target names from the config named on the command line, and from $PGVIGIL_CONFIG.
cat >"$tmp/pgvigil.yaml" <<'YAML'
targets:
  - name: main
    conninfo: "host=127.0.0.1 port=5432 dbname=postgres"
  - name: replica-2
    conninfo: "host=127.0.0.1 port=5433 dbname=postgres"
  - name: reporting
    conninfo: "host=127.0.0.1 port=5434 dbname=postgres"
YAML
expect "main replica-2 reporting" check -c "$tmp/pgvigil.yaml" -t ""
expect "replica-2 reporting" check --config="$tmp/pgvigil.yaml" --target re
expect "main replica-2 reporting" pause -c "$tmp/pgvigil.yaml" ""
expect "main" restart -c "$tmp/pgvigil.yaml" m
expect "" resume -c "$tmp/pgvigil.yaml" main ""
PGVIGIL_CONFIG="$tmp/pgvigil.yaml" expect "main replica-2 reporting" resume ""
# An invalid config completes no targets (and prints nothing on the terminal).
echo "targets: [oops" >"$tmp/bad.yaml"
expect "" check -c "$tmp/bad.yaml" -t ""

echo "$shell completion: $((checks - failures)) passed, $failures failed"
((failures == 0))
