# The bus methods with the daemon inside its unit's sandbox: the caller's uid
# comes from the bus driver (the sandbox hides /proc). alice's user has
# unix_user = "alice": root and alice may use it, mallory may not.

status_exit_0() {
  run wsheartctl status || fail "wsheartctl status as root"
  run as mallory wsheartctl status || fail "wsheartctl status as an ordinary user"
}

# monitor_send_recent USER: USER follows alice's events, sends to her and
# reads her history.
monitor_send_recent() {
  local user=$1
  local out=$STATE/monitor-$user
  as_bg "$user" wsheartctl --json monitor alice >"$out" 2>"$out.err" &
  local monitor=$!
  # The monitor has subscribed once a probe sent after its start shows up.
  local n=0
  # shellcheck disable=SC2317 # called by wait_until
  probe() {
    n=$((n + 1))
    as "$user" wsheartctl send alice "echo:probe-$user-$n" >/dev/null || return 1
    sleep 0.2
    grep -q "probe-$user-" "$out"
  }
  wait_until 15 "the monitor of $user receives alice's messages" probe ||
    { cat "$out" "$out.err"; fail "monitor as $user"; }
  run as "$user" wsheartctl send alice "echo:hello-from-$user" || fail "send as $user"
  wait_until 10 "hello-from-$user in the monitor" grep -q "hello-from-$user" "$out" || fail "monitor missed it"
  grep -a "hello-from-$user" "$out"
  run as "$user" wsheartctl recent alice >"$out.recent" || fail "recent as $user"
  grep "hello-from-$user" "$out.recent" || fail "recent as $user lacks the message"
  kill -TERM "$monitor"
  wait "$monitor"
  local rc=$?
  echo "monitor exit $rc; stderr:"
  cat "$out.err"
  [ "$rc" -eq 0 ] || fail "monitor as $user exited $rc"
}
monitor_send_recent_root() { monitor_send_recent root; }
monitor_send_recent_alice() { monitor_send_recent alice; }

root_reconnects() {
  local before
  before=$(user_field alice reconnects)
  run wsheartctl reconnect alice || fail "reconnect as root"
  wait_until 10 "alice reconnected and open" \
    bash -c "[ \"\$(user_field alice reconnects)\" -gt $before ] && [ \"\$(user_field alice state)\" = open ]" ||
    fail "alice did not reconnect"
}

other_uid_denied() {
  local path=/org/wsheartd1/user/alice out
  run as mallory wsheartctl send alice "echo:x" 2>&1 | tee "$STATE/denied"
  [ "${PIPESTATUS[0]}" -eq 1 ] || fail "send by mallory did not exit 1"
  grep -q "permission denied" "$STATE/denied" || fail "send by mallory: no 'permission denied'"
  for call in "org.wsheartd1.User.Send string:x" "org.wsheartd1.User.RecentMessages uint64:0" \
    "org.wsheartd1.User.Reconnect"; do
    # shellcheck disable=SC2086
    out=$(dbus_call mallory "$path" $call)
    echo "mallory $call: $out"
    # The daemon's decision, not a failure to find out who called.
    [[ $out == *"org.wsheartd1.Error.AccessDenied: access to user alice denied"* ]] ||
      fail "mallory $call was not denied"
  done
  out=$(dbus_call mallory /org/wsheartd1 org.wsheartd1.Manager.Reload)
  echo "mallory Reload: $out"
  [[ $out == *"org.wsheartd1.Error.AccessDenied: only root may reload"* ]] || fail "mallory Reload was not denied"
  out=$(dbus_call alice /org/wsheartd1 org.wsheartd1.Manager.Reload)
  echo "alice Reload: $out"
  [[ $out == *"org.wsheartd1.Error.AccessDenied: only root may reload"* ]] || fail "alice Reload was not denied"
  run as mallory wsheartctl send bob "echo:open-to-all" || fail "mallory may send to bob (no unix_user)"
}

check "wsheartctl status exits 0 (root, and an ordinary user)" status_exit_0
check "monitor, send, recent as root" monitor_send_recent_root 40
check "monitor, send, recent as alice (unix_user of alice)" monitor_send_recent_alice 40
check "reconnect as root" root_reconnects
check "another uid (mallory) gets AccessDenied: Send, RecentMessages, Reconnect, Reload" other_uid_denied
