# systemctl reload: ExecReload= runs `wsheartctl --system reload` as root.

# The users' connection identity: state, since when, how often reconnected.
connection_of() { user_field "$1" state since_usec reconnects; }

reload_keeps_connections() {
  local pid alice bob
  pid=$(main_pid)
  alice=$(connection_of alice)
  bob=$(connection_of bob)
  echo "before: MainPID $pid, alice $alice, bob $bob"
  write_config alice bob carol
  run systemctl reload wsheartd || fail "systemctl reload"
  wait_until 10 "STATUS=3/3 users open" status_is "3/3 users open" || fail "status: '$(status_text)'"
  echo "after: MainPID $(main_pid), alice $(connection_of alice), bob $(connection_of bob)"
  [ "$(main_pid)" = "$pid" ] || fail "MainPID changed"
  [ "$(connection_of alice)" = "$alice" ] || fail "alice's connection changed"
  [ "$(connection_of bob)" = "$bob" ] || fail "bob's connection changed"
}

broken_reload_fails() {
  local pid since
  pid=$(main_pid)
  since=$(date '+%Y-%m-%d %H:%M:%S')
  # Whatever happens here, the later checks get a valid config back.
  trap 'write_config alice bob carol' EXIT
  write_config alice bob carol
  printf 'heartbeet = "5s"\n' >>"$CONFIG"
  ! run systemctl reload wsheartd || fail "reload of a broken config succeeded"
  run systemctl is-active wsheartd || fail "the daemon stopped"
  [ "$(main_pid)" = "$pid" ] || fail "MainPID changed"
  status_is "3/3 users open" || fail "status: '$(status_text)'"
  run journalctl -u wsheartd --since "$since" --no-pager -o cat | tee "$STATE/reload-journal"
  grep -q "^$CONFIG:[0-9]*:[0-9]*: .*heartbeet" "$STATE/reload-journal" || fail "no PATH:LINE:COL line in the journal"
  write_config alice bob carol
  run systemctl reload wsheartd || fail "reload after fixing the config"
}

check "systemctl reload: exit 0, same MainPID, unchanged users keep their connection" reload_keeps_connections
check "a broken config: systemctl reload fails, PATH:LINE:COL in the journal, daemon keeps running" broken_reload_fails
