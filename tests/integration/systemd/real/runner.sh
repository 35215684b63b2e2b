#!/bin/bash
# Runs inside the booted container (started by wsheart-suite.service), as
# root: every checks.d/*.sh in name order, each check in its own process with
# its own time limit. Results go to /out (bound from the host):
#   /out/progress         one line per check as it finishes (the host shows it live)
#   /out/checks/NAME.log  what the check printed
#   /out/journal.txt      the boot's journal, written at the end
#   /out/result           "PASS" or "FAIL N", written last
# Then it powers the container off.
#
#   runner.sh MODE        MODE: install (cmake --install + README steps) or deb
set -uo pipefail
export MODE=$1 SUITE=/suite OUT=/out STATE=/run/wsheart-suite
mkdir -p "$STATE" "$OUT/checks"
: >"$OUT/progress"
# Mode deb: nothing from /usr/local (this machine's, seen through the overlay).
if [ "$MODE" = deb ]; then
  export PATH=/usr/sbin:/usr/bin:/sbin:/bin
else
  export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
fi
# shellcheck source=lib.sh
source "$SUITE/lib.sh"

# Registered by the checks.d files: "NAME|FUNCTION|SECONDS|fatal?"
CHECKS=()
# check NAME FUNCTION [SECONDS (default 30)] [fatal]: a fatal check that fails
# ends the run (later checks depend on it and are reported as not run).
check() { CHECKS+=("$1|$2|${3:-30}|${4:-}"); }
# A checks.d file that applies to some modes only starts with:  modes deb || return 0
modes() { [[ " $* " == *" $MODE "* ]]; }

for file in "$SUITE"/checks.d/*.sh; do
  # shellcheck source=/dev/null
  source "$file"
done
# Each check runs as `bash -c FUNCTION` under timeout(1): export every function.
# shellcheck disable=SC2163 # exports the function named by $fn
while read -r _ _ fn; do export -f "$fn"; done < <(declare -F)

failed=0
stop=""
n=0
for entry in "${CHECKS[@]}"; do
  IFS='|' read -r name fn seconds fatal <<<"$entry"
  n=$((n + 1))
  log=$OUT/checks/$(printf '%02d' "$n")-$fn.log
  if [ -n "$stop" ]; then
    echo "SKIP        $name (not run: a fatal check failed)" >>"$OUT/progress"
    failed=$((failed + 1))
    continue
  fi
  t0=$(date +%s%N)
  timeout -k 5 "$seconds" bash -c "$fn" >"$log" 2>&1
  rc=$?
  ms=$((($(date +%s%N) - t0) / 1000000))
  took=$(printf '%d.%01ds' $((ms / 1000)) $((ms % 1000 / 100)))
  if [ "$rc" -eq 0 ]; then
    printf 'ok   %6s  %s\n' "$took" "$name" >>"$OUT/progress"
  else
    why="exit $rc"
    [ "$rc" -eq 124 ] && why="timed out after ${seconds}s"
    printf 'FAIL %6s  %s (%s; log %s)\n' "$took" "$name" "$why" "${log#"$OUT"/}" >>"$OUT/progress"
    failed=$((failed + 1))
    [ -n "$fatal" ] && stop=$name
  fi
done

journalctl -b --no-pager -o short-monotonic >"$OUT/journal.txt" 2>&1
if [ "$failed" -eq 0 ]; then echo PASS >"$OUT/result"; else echo "FAIL $failed" >"$OUT/result"; fi
sync
# --force: a lingering user manager can hold up an orderly shutdown.
systemctl poweroff --force
