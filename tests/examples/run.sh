#!/usr/bin/env bash
# Runs one example of examples/apps against a real wsheartd --user and
# wsheart-echo on a private session bus, and checks what it printed.
#   run.sh python_gio|monitor_pipeline|oneliners BUILD_BIN_DIR... (see CMakeLists.txt)
#   run.sh EXAMPLE WSHEARTD WSHEARTCTL WSHEART_ECHO EXAMPLES_DIR
# Synchronises on output (a line appearing), never on a bare sleep: the
# polling loops below end as soon as what they wait for is there.
set -euo pipefail
example=$1 wsheartd=$2 wsheartctl=$3 echo_bin=$4 examples=$5

# shellcheck source=../support/shell_harness.sh
. "$(dirname "$0")/../support/shell_harness.sh"

# A private bus, wsheart-echo, wsheartd --user with alice (open) and carol (refused).
start_session_bus
start_echo "$echo_bin"
cat >"$work/config.toml" <<TOML
[defaults]
url = "ws://127.0.0.1:$port/ws/{id}"
heartbeat = "off"
reconnect_initial = "100ms"
reconnect_max = "1s"

[[user]]
id = "alice"
TOML
start_user_daemon "$wsheartd" "$wsheartctl"
export PATH="$(dirname "$wsheartctl"):$PATH"

case $example in
python_gio)
  /usr/bin/python3 "$examples/subscriber.py" "$DBUS_SESSION_BUS_ADDRESS" >"$work/py.out" 2>"$work/py.err" &
  pids+=($!)
  wait_for 10 "$work/py.err" '^subscribed$'
  wsheartctl --user send alice 'echo:hello from python' >/dev/null
  wait_for 10 "$work/py.out" '^/org/wsheartd1/user/alice message 1 hello from python$'
  wsheartctl --user reconnect alice
  wait_for 10 "$work/py.out" '^/org/wsheartd1/user/alice state connecting -> open \(connected\)$'
  grep -qE '^/org/wsheartd1/user/alice state open -> closing \(manual\)$' "$work/py.out" \
    || fail "no state line for the manual reconnect"
  ;;
monitor_pipeline)
  "$examples/monitor-pipeline.sh" --user >"$work/pipe.out" 2>"$work/pipe.err" &
  pids+=($!)
  # The pipeline prints nothing until it has subscribed: send until a message shows up.
  wait_for 10 "$work/pipe.out" '^alice: ping$' "wsheartctl --user send alice echo:ping"
  wsheartctl --user send alice 'echo:{"event":"call"}' >/dev/null
  wait_for 10 "$work/pipe.out" '^alice: \{"event":"call"\}$'
  wsheartctl --user reconnect alice
  wait_for 10 "$work/pipe.out" '^alice is up$'
  grep -qE '^alice is down \(manual\)$' "$work/pipe.out" || fail "no down line for the manual reconnect"
  ;;
oneliners)
  # All lines but the last (gdbus monitor) in one go, then the last one while
  # messages are sent until it has seen one.
  sed '$d' "$examples/oneliners.sh" >"$work/first.sh"
  BUS="--address=$DBUS_SESSION_BUS_ADDRESS" GBUS="--address $DBUS_SESSION_BUS_ADDRESS" \
    sh "$work/first.sh" >"$work/one.out" 2>"$work/one.err" || fail "oneliners.sh failed"
  grep -qx 'alice open' "$work/one.out" || fail "GetManagedObjects | jq did not list alice"
  grep -qx 's "open"' "$work/one.out" || fail "get-property State"
  grep -qx 'b false' "$work/one.out" || fail "Send"
  wait_for 10 "$work/recent.out" "hello from busctl" \
    "gdbus call --address \"$DBUS_SESSION_BUS_ADDRESS\" --dest org.wsheartd1 --object-path /org/wsheartd1/user/alice --method org.wsheartd1.User.RecentMessages 0 >\"$work/recent.out\""
  last=$(tail -n1 "$examples/oneliners.sh")
  GBUS="--address $DBUS_SESSION_BUS_ADDRESS" sh -c "GBUS=\"\$GBUS\"; $last" >"$work/mon.out" 2>"$work/mon.err" &
  pids+=($!)
  wait_for 10 "$work/mon.out" 'MessageReceived' "wsheartctl --user send alice echo:ping"
  ;;
*) echo "unknown example $example" >&2; exit 2 ;;
esac
echo "ok: $example"
