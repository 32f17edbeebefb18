# Runs the zsh completion function outside the line editor, as compsys would call it: `words` and
# `CURRENT` set, `compadd` and `_files` replaced by recorders; prints the candidates that match
# the word under the cursor (what zsh itself would keep), one a line.
#   zsh -f zsh_complete.zsh COMPLETION_FILE WORD...   (the cursor at the end of the last word)
file=$1
shift
typeset -ga candidates
compadd() {
  local -a a
  a=("$@")
  candidates+=("${(@)a[${a[(i)--]}+1,-1]}")
}
_files() {
  local p
  for p in ${words[CURRENT]}*(N); do
    [[ $1 == -/ && ! -d $p ]] && continue
    candidates+=($p)
  done
}
words=("$@")
CURRENT=$#words
source $file
cur=${words[CURRENT]}
for c in $candidates; do
  [[ -n $c && $c == "$cur"* ]] && print -r -- $c
done
return 0
