# systemd-analyze security on the unit as loaded; the score also goes to
# /out/security.txt for the host's summary.

security_score() {
  systemd-analyze security --no-pager wsheartd.service >"$STATE/security" 2>&1 || true
  tail -25 "$STATE/security"
  local score
  score=$(sed -n 's/.*Overall exposure level for wsheartd.service: \([0-9.]*\).*/\1/p' "$STATE/security")
  [ -n "$score" ] || fail "no overall exposure level"
  echo "$score" >/out/security.txt
  awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || fail "exposure $score > 2.0"
}

check "systemd-analyze security wsheartd <= 2.0 (the loaded unit)" security_score
