# Journal fields: with its stderr on the journal (StandardError=journal, the
# default), the daemon sends native entries carrying WSHEART_USER= (and
# WSHEART_STATE=, WSHEART_REASON= on state changes), so journalctl selects
# one user's lines. alice and bob are configured and open at this point.
modes install deb || return 0

journal_fields() {
  # Something of alice's after the checks before: a reconnect she asked for.
  run wsheartctl reconnect alice || fail "reconnect alice"
  wait_until 10 "alice's reconnect in the journal" \
    bash -c 'journalctl -b -u wsheartd WSHEART_USER=alice --no-pager -o cat | grep -q "alice: reconnect requested"' ||
    fail "no 'reconnect requested' entry with WSHEART_USER=alice"
  wait_until 10 "alice open again" bash -c '[ "$(user_field alice state)" = open ]' || fail "alice did not reopen"
  local alice bob
  alice=$(journalctl -b -u wsheartd WSHEART_USER=alice --no-pager -o cat)
  bob=$(journalctl -b -u wsheartd WSHEART_USER=bob --no-pager -o cat)
  echo "--- journalctl WSHEART_USER=alice"
  echo "$alice"
  echo "--- journalctl WSHEART_USER=bob (first lines)"
  echo "$bob" | head -5
  [ -n "$alice" ] || fail "no entries for alice"
  [ -n "$bob" ] || fail "no entries for bob"
  grep -q '^alice: .* -> open (connected)$' <<<"$alice" || fail "alice's state change to open is not among her entries"
  ! grep -v '^alice: \|^transport: alice: ' <<<"$alice" || fail "an entry of WSHEART_USER=alice is not about alice"
  ! grep -q 'bob' <<<"$alice" || fail "bob's lines among alice's"
  # The state fields, and the priority of a native entry.
  journalctl -b -u wsheartd WSHEART_USER=alice WSHEART_STATE=open WSHEART_REASON=connected --no-pager -o cat |
    grep -q '^alice: .* -> open (connected)$' || fail "WSHEART_STATE=open WSHEART_REASON=connected selects nothing"
  journalctl -b -u wsheartd WSHEART_USER=alice -p notice --no-pager -o cat | grep -q -- '-> open' ||
    fail "the open notice lost its priority"
  ! journalctl -b -u wsheartd WSHEART_USER=alice -p notice --no-pager -o cat | grep -q 'reconnect requested' ||
    fail "an info entry passed -p notice"
  # Native entries, not stream lines: no "<N>" left in a message, the identifier kept.
  ! journalctl -b -u wsheartd --no-pager -o cat | grep -q '^<[0-7]>' || fail "'<N>' prefixes in the journal"
  journalctl -b -t wsheartd WSHEART_USER=alice --no-pager -o cat | grep -q . || fail "SYSLOG_IDENTIFIER=wsheartd missing"
  # No URL, header or credential in any field of the daemon's entries.
  # (The suite's URLs are ws://127.0.0.1:9000/ws?user=ID.)
  ! journalctl -b -u wsheartd -o export --no-pager | grep -a '^WSHEART_' |
    grep -a -i 'ws://\|wss://\|127\.0\.0\.1\|?user\|authorization\|bearer' ||
    fail "a WSHEART_ field holds URL or header content"
}

check "journal: journalctl WSHEART_USER=alice selects alice's entries and none of bob's" journal_fields 40
