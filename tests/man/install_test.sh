#!/usr/bin/env bash
# `cmake --install` puts the man pages and the bash completion where man(1)
# and bash-completion find them, and `man` renders them.
#   install_test.sh BUILD_DIR
# 1. --prefix STAGE: share/man/man{1,5,8}/*, `man -l` renders each page,
#    MANPATH=STAGE/share/man finds `man wsheartctl`, `man 5 wsheartd.toml`,
#    `man 8 wsheartd`; bash-completion's loader, with XDG_DATA_DIRS=STAGE/share,
#    registers _wsheartctl for wsheartctl.
# 2. DESTDIR=ROOT --prefix /usr (the package layout): ROOT/usr/share/man/...
set -euo pipefail
build=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 0755 "$work"  # man-db may read as the user "man" when run as root
status=0
fail() { echo "FAIL: $*" >&2; status=1; }
export MANPAGER=cat PAGER=cat MANWIDTH=80 LC_ALL=C.UTF-8

pages=("man1/wsheartctl.1:wsheartctl - query and control wsheartd"
       "man5/wsheartd.toml.5:wsheartd.toml - configuration file of wsheartd"
       "man8/wsheartd.8:wsheartd - WebSocket heartbeat daemon")

stage="$work/stage"
cmake --install "$build" --prefix "$stage" >"$work/install1.log" 2>&1 || { cat "$work/install1.log"; exit 1; }
for entry in "${pages[@]}"; do
  file=${entry%%:*} name=${entry#*:}
  path="$stage/share/man/$file"
  [ -f "$path" ] || { fail "missing $path"; continue; }
  out=$(man -l "$path" 2>"$work/err") || fail "man -l $path: $(cat "$work/err")"
  grep -qF "$name" <<<"$out" && echo "ok: man -l $file" || fail "man -l $file does not show '$name'"
  [ ! -s "$work/err" ] || fail "man -l $file warned: $(cat "$work/err")"
done
for query in "wsheartctl:man1/wsheartctl.1" "5 wsheartd.toml:man5/wsheartd.toml.5" "8 wsheartd:man8/wsheartd.8"; do
  words=${query%%:*} file=${query#*:}
  # shellcheck disable=SC2086
  found=$(MANPATH="$stage/share/man" man -w $words 2>&1) || true
  [ "$found" = "$stage/share/man/$file" ] && echo "ok: MANPATH lookup 'man $words'" \
    || fail "MANPATH lookup 'man $words' gave '$found'"
done
# shellcheck disable=SC2086
MANPATH="$stage/share/man" man wsheartctl 2>&1 | grep -q "EXIT STATUS" && echo "ok: man wsheartctl renders" \
  || fail "'man wsheartctl' via MANPATH did not render"

comp="$stage/share/bash-completion/completions/wsheartctl"
if [ -f "$comp" ]; then
  spec=$(XDG_DATA_DIRS="$stage/share" bash --norc --noprofile -c \
    'source /usr/share/bash-completion/bash_completion; _completion_loader wsheartctl; complete -p wsheartctl' 2>&1) || true
  [ "$spec" = "complete -F _wsheartctl wsheartctl" ] && echo "ok: bash-completion loads $comp" \
    || fail "bash-completion did not load the installed completion: '$spec'"
else
  fail "missing $comp"
fi

root="$work/root"
DESTDIR="$root" cmake --install "$build" --prefix /usr >"$work/install2.log" 2>&1 || { cat "$work/install2.log"; exit 1; }
for entry in "${pages[@]}"; do
  file=${entry%%:*}
  [ -f "$root/usr/share/man/$file" ] && echo "ok: DESTDIR /usr/share/man/$file" || fail "missing $root/usr/share/man/$file"
done
[ -f "$root/usr/share/bash-completion/completions/wsheartctl" ] && echo "ok: DESTDIR bash completion" \
  || fail "missing $root/usr/share/bash-completion/completions/wsheartctl"
exit $status
