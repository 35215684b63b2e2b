#!/usr/bin/env bash
# What bash completion offers for the last word of a command line.
#   complete.sh COMPLETION_FILE WORD...   (the last WORD may be "")
# Sources the file, looks up the function it registered for wsheartctl with
# `complete -p`, sets COMP_WORDS/COMP_CWORD/COMP_LINE/COMP_POINT as bash
# does, calls it and prints COMPREPLY, one entry per line.
set -u
# shellcheck disable=SC1090
source "$1"
shift
spec=$(complete -p wsheartctl) || { echo "no completion registered for wsheartctl" >&2; exit 1; }
fn=$(sed -n 's/.*-F \([^ ]*\) .*/\1/p' <<<"$spec")
[ -n "$fn" ] || { echo "unexpected completion spec: $spec" >&2; exit 1; }
COMP_WORDS=("$@")
COMP_CWORD=$(($# - 1))
COMP_LINE="$*"
COMP_POINT=${#COMP_LINE}
COMPREPLY=()
"$fn" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]:-}"
[ ${#COMPREPLY[@]} -eq 0 ] || printf '%s\n' "${COMPREPLY[@]}"
