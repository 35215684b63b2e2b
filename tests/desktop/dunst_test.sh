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

# shellcheck source=../support/shell_harness.sh
. "$here/../support/shell_harness.sh"

# Xvfb picks a free display and writes its number once it accepts clients.
Xvfb -displayfd 3 -screen 0 560x140x24 -nolisten tcp 3>"$work/display" >"$work/xvfb.out" 2>"$work/xvfb.err" &
pids+=($!)
wait_for 10 "$work/display" '^[0-9]+$'
export DISPLAY=":$(head -n1 "$work/display")"

start_session_bus
export XDG_STATE_HOME="$work/state" HOME="$work"

sed "s|@RECORD@|$here/record.sh|; s|@LOG@|$work/received.log|" "$here/dunstrc" >"$work/dunstrc"
RECORD_LOG="$work/received.log" dunst -config "$work/dunstrc" >"$work/dunst.out" 2>"$work/dunst.err" &
pids+=($!)
wait_for 10 "$work/names.out" '^org.freedesktop.Notifications$' \
  "busctl --user --list --no-legend --acquired | awk '{print \$1}' >\"$work/names.out\""

start_echo "$echo_bin"
printf '[[user]]\nid = "alice"\nurl = "ws://127.0.0.1:%s/ws/alice"\nheartbeat = "off"\n' "$port" >"$work/config.toml"
start_user_daemon "$wsheartd" "$wsheartctl"

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
