#!/usr/bin/env bash
# `wsheartctl notify` against a REAL notification server: dunst under Xvfb,
# with wsheartd --user and wsheart-echo on a private session bus.
#   dunst_test.sh WSHEARTD WSHEARTCTL WSHEART_ECHO [SCREENSHOT.png]
# Checks that dunst received the message (a dunst rule runs record.sh with
# appname, summary, body and urgency). With SCREENSHOT, also takes a picture
# of the screen with ImageMagick's `import` (for docs/desktop.md).
# Exit 77 (skip) only when Xvfb or dunst is not installed.
set -euo pipefail
wsheartd=$1 wsheartctl=$2 echo_bin=$3 screenshot=${4:-}
here=$(cd "$(dirname "$0")" && pwd)

for tool in Xvfb dunst; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed (scripts/install-deps)"; exit 77; }
done

work=$(mktemp -d)
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for f in "$work"/*.out "$work"/*.err "$work"/*.log; do [ -s "$f" ] && { echo "--- $f"; cat "$f"; }; done >&2; exit 1; }
# wait_for SECONDS FILE PATTERN [ACTION]: until FILE has a line matching PATTERN.
wait_for() {
  local deadline=$((SECONDS + $1)) file=$2 pattern=$3 action=${4:-}
  while :; do
    [ -z "$action" ] || eval "$action" >/dev/null 2>&1 || true
    grep -qE -- "$pattern" "$file" 2>/dev/null && return 0
    [ $SECONDS -lt $deadline ] || fail "no line matching '$pattern' in $file"
    sleep 0.05
  done
}

# Xvfb picks a free display and writes its number once it accepts clients.
Xvfb -displayfd 3 -screen 0 560x140x24 -nolisten tcp 3>"$work/display" >"$work/xvfb.out" 2>"$work/xvfb.err" &
pids+=($!)
wait_for 10 "$work/display" '^[0-9]+$'
export DISPLAY=":$(head -n1 "$work/display")"

dbus-daemon --session --nofork --print-address=3 --address="unix:path=$work/bus" 3>"$work/bus.address" \
  >"$work/dbus.out" 2>&1 &
pids+=($!)
wait_for 10 "$work/bus.address" unix:
export DBUS_SESSION_BUS_ADDRESS=$(head -n1 "$work/bus.address")
export XDG_STATE_HOME="$work/state" HOME="$work"

sed "s|@RECORD@|$here/record.sh|; s|@LOG@|$work/received.log|" "$here/dunstrc" >"$work/dunstrc"
RECORD_LOG="$work/received.log" dunst -config "$work/dunstrc" >"$work/dunst.out" 2>"$work/dunst.err" &
pids+=($!)
wait_for 10 "$work/names.out" '^org.freedesktop.Notifications$' \
  "busctl --user --list --no-legend --acquired | awk '{print \$1}' >\"$work/names.out\""

"$echo_bin" --port 0 >"$work/echo.out" 2>"$work/echo.err" &
pids+=($!)
wait_for 10 "$work/echo.out" '^PORT [0-9]+$'
port=$(sed -n 's/^PORT //p' "$work/echo.out")
printf '[[user]]\nid = "alice"\nurl = "ws://127.0.0.1:%s/ws/alice"\nheartbeat = "off"\n' "$port" >"$work/config.toml"
"$wsheartd" --user --config "$work/config.toml" >"$work/daemon.out" 2>"$work/daemon.err" &
pids+=($!)
wait_for 10 "$work/status.out" '^alice +open' "\"$wsheartctl\" --user --no-legend status >\"$work/status.out\""

"$wsheartctl" --user notify --summary /title --body /message --priority /priority \
  >"$work/notify.out" 2>"$work/notify.err" &
pids+=($!)
wait_for 10 "$work/notify.err" 'connected to wsheartd'
grep -q 'notification server dunst 1.9' "$work/notify.err" || grep -q 'notification server dunst' "$work/notify.err" \
  || fail "the agent did not name dunst"

"$wsheartctl" --user send alice \
  'echo:{"title":"Incoming call","message":"+49 30 1234 <Tom & Jerry>","priority":9}' >/dev/null
# record.sh: appname, summary, body, icon, urgency. The body is as sent:
# dunst advertises body-markup, so the agent escaped it.
wait_for 10 "$work/received.log" '^wsheartd	Incoming call	'
line=$(grep '^wsheartd	Incoming call	' "$work/received.log")
case "$line" in
  *"&lt;Tom &amp; Jerry&gt;"*CRITICAL*) echo "ok: dunst received: $line" ;;
  *) fail "unexpected record: $line" ;;
esac

if [ -n "$screenshot" ]; then
  command -v import >/dev/null || fail "import (imagemagick) is needed for the screenshot"
  wait_for 10 "$work/count.out" '^[1-9]' "dunstctl count displayed >\"$work/count.out\""
  # dunst has mapped its window; let it draw (the picture is for the docs, not a check).
  sleep 0.5
  import -window root "$screenshot"
  echo "ok: screenshot in $screenshot"
fi
