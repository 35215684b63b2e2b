# Starting: the test's peers (a WebSocket server, Unix users), enable --now
# with the example config (no users), then with the suite's users.

setup_peers() {
  for user in alice mallory; do
    getent passwd "$user" >/dev/null || run useradd --create-home "$user" || fail "useradd $user"
  done
  local echo_bin=/out/tools/wsheart-echo
  [ -x "$echo_bin" ] || echo_bin=$(command -v wsheart-echo) || fail "no wsheart-echo"
  run systemd-run --unit=wsheart-echo-srv --property=Type=exec "$echo_bin" --port "$ECHO_PORT" --quiet ||
    fail "systemd-run wsheart-echo"
  wait_until 10 "wsheart-echo listening on $ECHO_PORT" bash -c "</dev/tcp/127.0.0.1/$ECHO_PORT" ||
    fail "echo server"
}

enable_now() {
  run systemctl enable --now wsheartd || fail "enable --now"
  run systemctl is-enabled wsheartd || fail "not enabled"
  run systemctl is-active wsheartd || fail "not active"
  [ -L /etc/systemd/system/dbus-org.wsheartd1.service ] || fail "enable did not create the alias dbus-org.wsheartd1.service"
  wait_until 10 "STATUS=no users configured" status_is "no users configured" || fail "status: '$(status_text)'"
  run systemctl status --no-pager wsheartd | head -5
}

start_with_users() {
  write_config alice bob
  run systemctl restart wsheartd || fail "restart"
  wait_until 15 "STATUS=2/2 users open" status_is "2/2 users open" || fail "status: '$(status_text)'"
  run systemctl status --no-pager wsheartd | head -5
  [ "$(prop wsheartd.service Result)" = success ] || fail "Result=$(prop wsheartd.service Result)"
}

check "peers: Unix users alice and mallory, wsheart-echo on 127.0.0.1:$ECHO_PORT (systemd-run)" setup_peers 30 fatal
check "systemctl enable --now wsheartd: enabled, active, STATUS=no users configured" enable_now 30 fatal
check "two users configured, restart: STATUS=2/2 users open" start_with_users 30 fatal
