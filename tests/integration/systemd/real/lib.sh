# Helpers for the checks in checks.d/ (sourced by runner.sh inside the
# container; every function is exported to the checks). A check is a function
# that exits non-zero on failure, after printing why; its output lands in
# /out/checks/NN-FUNCTION.log.

CONFIG=/etc/wsheartd/config.toml
ECHO_PORT=9000
export CONFIG ECHO_PORT

fail() {
  echo "FAILED: $*" >&2
  exit 1
}

# wait_until SECONDS WHAT CMD...: run CMD every 0.1 s until it succeeds.
wait_until() {
  local seconds=$1 what=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || {
      echo "timed out after ${seconds}s waiting for: $what" >&2
      return 1
    }
    sleep 0.1
  done
}

# Echo a command, run it, show its output and exit status; returns its status.
run() {
  echo "\$ $*"
  "$@"
  local rc=$?
  echo "-> exit $rc"
  return "$rc"
}

prop() { systemctl show -P "$2" "$1"; }
main_pid() { prop wsheartd.service MainPID; }
status_text() { prop wsheartd.service StatusText; }
status_is() { [ "$(status_text)" = "$1" ]; }

# as USER CMD...: CMD as USER (setpriv and env exec it: no process in
# between that would change its exit status or the signals it gets).
as() {
  local user=$1 home
  shift
  home=$(getent passwd "$user" | cut -d: -f6)
  setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups \
    env HOME="$home" USER="$user" LOGNAME="$user" "$@"
}
# The same as a background job whose $! is CMD itself: as_bg USER CMD... &
as_bg() { exec setpriv --reuid="$1" --regid="$(id -g "$1")" --init-groups "${@:2}"; }

# A command in USER's login-less session: their `systemctl --user` manager
# (started by lingering) and their session bus.
as_session() {
  local user=$1 uid
  shift
  uid=$(id -u "$user")
  as "$user" env XDG_RUNTIME_DIR="/run/user/$uid" \
    DBUS_SESSION_BUS_ADDRESS="unix:path=/run/user/$uid/bus" "$@"
}

# The system config with the suite's users: write_config ID... (alice is
# restricted to the Unix user alice; the others are open to everyone).
# Reconnect delays are short so that restarts reopen quickly.
write_config() {
  {
    printf '[defaults]\nurl = "ws://127.0.0.1:%s/ws?user={id}"\n' "$ECHO_PORT"
    printf 'reconnect_initial = "100ms"\nreconnect_max = "500ms"\n'
    local id
    for id in "$@"; do
      printf '\n[[user]]\nid = "%s"\n' "$id"
      [ "$id" = alice ] && printf 'unix_user = "alice"\n'
    done
  } | install -m 0640 -g wsheartd /dev/stdin "$CONFIG"
}

# user_field ID FIELD...: fields of ID in `wsheartctl --json status`, blank-separated.
user_field() {
  wsheartctl --json status "$1" |
    /usr/bin/python3 -c 'import json, sys; u = json.load(sys.stdin)["users"][0]; print(*(u[f] for f in sys.argv[1:]))' "${@:2}"
}

# dbus_call USER PATH INTERFACE.METHOD [ARGS...] on org.wsheartd1, printing
# dbus-send's reply, which names a D-Bus error (unlike busctl).
dbus_call() {
  local user=$1 path=$2 method=$3
  shift 3
  as "$user" dbus-send --system --print-reply --dest=org.wsheartd1 "$path" "$method" "$@" 2>&1
}
