# Sourced by the shell tests (tests/desktop, tests/examples): a work
# directory and background processes that go away on exit, fail() with every
# captured output, and wait_for(), which synchronises on output (a line
# appearing), never on a bare sleep. The caller has set -euo pipefail.

work=$(mktemp -d)
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in "$work"/*.out "$work"/*.err "$work"/*.log; do [ -s "$f" ] && { echo "--- $f"; cat "$f"; }; done >&2
  exit 1
}

# wait_for SECONDS FILE PATTERN [ACTION]: until FILE has a line matching
# PATTERN (grep -E), running ACTION (if any) before each look.
wait_for() {
  local deadline=$((SECONDS + $1)) file=$2 pattern=$3 action=${4:-}
  while :; do
    [ -z "$action" ] || eval "$action" >/dev/null 2>&1 || true
    grep -qE -- "$pattern" "$file" 2>/dev/null && return 0
    [ $SECONDS -lt $deadline ] || fail "no line matching '$pattern' in $file"
    sleep 0.05
  done
}

# start_session_bus: a private dbus-daemon; exports DBUS_SESSION_BUS_ADDRESS.
start_session_bus() {
  dbus-daemon --session --nofork --print-address=3 --address="unix:path=$work/bus" 3>"$work/bus.address" \
    >"$work/dbus.out" 2>&1 &
  pids+=($!)
  wait_for 10 "$work/bus.address" unix:
  export DBUS_SESSION_BUS_ADDRESS=$(head -n1 "$work/bus.address")
}

# start_echo ECHO_BIN: wsheart-echo on a free port; sets $port.
start_echo() {
  "$1" --port 0 >"$work/echo.out" 2>"$work/echo.err" &
  pids+=($!)
  wait_for 10 "$work/echo.out" '^PORT [0-9]+$'
  port=$(sed -n 's/^PORT //p' "$work/echo.out")
}

# start_user_daemon WSHEARTD WSHEARTCTL: wsheartd --user with
# $work/config.toml, until its user alice is open.
start_user_daemon() {
  "$1" --user --config "$work/config.toml" >"$work/daemon.out" 2>"$work/daemon.err" &
  pids+=($!)
  wait_for 10 "$work/status.out" '^alice +open' "\"$2\" --user --no-legend status >\"$work/status.out\""
}
