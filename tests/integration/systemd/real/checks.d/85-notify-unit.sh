# The desktop agent's user unit (wsheartd-notify.service) as installed, under
# alice's real `systemctl --user`, forwarding her messages from the system
# daemon to a notification server on her session bus (the notify tests'
# stand-in: this container has no display).

notify_unit() {
  local uid log=$STATE/notifications
  uid=$(id -u alice)
  systemctl is-active -q wsheartd || run systemctl start wsheartd || fail "wsheartd not running"
  run loginctl enable-linger alice || fail "enable-linger"
  wait_until 20 "alice's session bus" test -S "/run/user/$uid/bus" || fail "no session bus for alice"
  as_session alice /usr/bin/python3 /out/tools/mock_notifications.py >"$log" 2>"$log.err" &
  local server=$!
  wait_until 10 "the notification server owns its name" grep -q READY "$log" ||
    { cat "$log.err"; fail "mock notification server"; }
  run as_session alice systemctl --user start wsheartd-notify || fail "systemctl --user start wsheartd-notify"
  # Subscribed once a message sent after the start comes out as a notification.
  local n=0
  # shellcheck disable=SC2317 # called by wait_until
  probe() {
    n=$((n + 1))
    wsheartctl send alice "echo:notify-probe-$n" >/dev/null || return 1
    sleep 0.2
    grep -q "notify-probe-" "$log"
  }
  wait_until 20 "a notification for alice's message" probe ||
    { as_session alice journalctl --user -u wsheartd-notify --no-pager | tail -20; cat "$log"; fail "no notification"; }
  grep -m1 "notify-probe-" "$log"
  grep -m1 "notify-probe-" "$log" | grep -q '"app_name": "wsheartd"' || fail "app_name"
  run as_session alice systemctl --user is-active wsheartd-notify || fail "the unit is not active"
  run as_session alice systemctl --user stop wsheartd-notify || fail "systemctl --user stop"
  [ "$(as_session alice systemctl --user show -P Result wsheartd-notify)" = success ] || fail "stop Result"
  kill "$server" 2>/dev/null
  wait "$server" 2>/dev/null
  return 0
}

check "the notify user unit: systemctl --user start wsheartd-notify shows alice's messages as notifications" notify_unit 60
