# The watchdog: a SIGSTOPped daemon stops sending WATCHDOG=1; systemd kills
# and restarts it. The shipped WatchdogSec=30s is shortened by a runtime
# drop-in so the check takes seconds.

watchdog_restarts() {
  [ "$(prop wsheartd.service WatchdogUSec)" = 30s ] || fail "shipped WatchdogSec is $(prop wsheartd.service WatchdogUSec)"
  mkdir -p /run/systemd/system/wsheartd.service.d
  printf '[Service]\nWatchdogSec=2s\n' >/run/systemd/system/wsheartd.service.d/50-suite-watchdog.conf
  systemctl daemon-reload
  run systemctl restart wsheartd || fail "restart"
  wait_until 10 "STATUS=3/3 users open" status_is "3/3 users open" || fail "status: '$(status_text)'"
  # Alive across two periods: the daemon pings at the period it is given.
  sleep 4
  [ "$(prop wsheartd.service NRestarts)" = 0 ] || fail "restarted while running normally"
  local pid restarts
  pid=$(main_pid)
  restarts=$(prop wsheartd.service NRestarts)
  run kill -STOP "$pid"
  wait_until 30 "NRestarts $restarts -> $((restarts + 1)), a new MainPID" \
    bash -c "[ \"\$(prop wsheartd.service NRestarts)\" = $((restarts + 1)) ] && [ \"\$(main_pid)\" != $pid ] && [ \"\$(main_pid)\" != 0 ]" ||
    fail "not restarted (NRestarts $(prop wsheartd.service NRestarts), MainPID $(main_pid))"
  wait_until 15 "STATUS=3/3 users open" status_is "3/3 users open" || fail "status: '$(status_text)'"
  journalctl -u wsheartd -b --no-pager -o cat | grep -i watchdog
  rm /run/systemd/system/wsheartd.service.d/50-suite-watchdog.conf
  systemctl daemon-reload
}

check "the watchdog restarts a SIGSTOPped daemon (NRestarts)" watchdog_restarts 60
