# Stopping, and starting again by a bus call.

stop_clean() {
  local t0 ms
  t0=$(date +%s%N)
  run systemctl stop wsheartd || fail "systemctl stop"
  ms=$((($(date +%s%N) - t0) / 1000000))
  echo "stop took $ms ms"
  echo "Result=$(prop wsheartd.service Result) ExecMainCode=$(prop wsheartd.service ExecMainCode)" \
    "ExecMainStatus=$(prop wsheartd.service ExecMainStatus)"
  [ "$ms" -le 2000 ] || fail "stop took $ms ms (> 2 s)"
  [ "$(prop wsheartd.service Result)" = success ] || fail "Result is not success"
  [ "$(prop wsheartd.service ExecMainCode)" = 1 ] || fail "the daemon did not exit by itself (CLD_EXITED)"
  [ "$(prop wsheartd.service ExecMainStatus)" = 0 ] || fail "exit status not 0"
}

bus_activation() {
  ! systemctl is-active wsheartd || fail "wsheartd is running before the call"
  # Any user's plain method call; the activation file names dbus-org.wsheartd1.service.
  run as mallory busctl --system call org.wsheartd1 /org/wsheartd1 org.freedesktop.DBus.Properties Get ss \
    org.wsheartd1.Manager UserCount || fail "the call did not start the daemon"
  run systemctl is-active wsheartd || fail "not active after the call"
  wait_until 10 "STATUS=3/3 users open" status_is "3/3 users open" || fail "status: '$(status_text)'"
}

no_activation_while_disabled() {
  run systemctl disable --now wsheartd || fail "disable --now"
  ! run as mallory busctl --system call org.wsheartd1 /org/wsheartd1 org.freedesktop.DBus.Peer Ping ||
    fail "a call started the disabled service"
  ! systemctl is-active wsheartd || fail "the disabled service was started"
  run systemctl enable --now wsheartd || fail "enable --now"
  wait_until 10 "STATUS=3/3 users open" status_is "3/3 users open" || fail "status: '$(status_text)'"
}

check "systemctl stop: <= 2 s, exit 0, Result=success" stop_clean
check "bus activation: a method call starts the stopped service" bus_activation
check "no bus activation while disabled; enable --now again" no_activation_while_disabled
