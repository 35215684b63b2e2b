# The metrics file from inside the sandboxed unit, set up as
# docs/operations.md ("Metrics") tells an administrator: node_exporter's
# textfile directory opened to the group prometheus, a drop-in with
# ReadWritePaths= and SupplementaryGroups=, and Debian's real
# prometheus-node-exporter (as the user prometheus) reading the file.
modes install deb || return 0

metrics_for_node_exporter() {
  local dir=/var/lib/prometheus/node-exporter port=9101
  local file=$dir/wsheartd.prom dropin=/etc/systemd/system/wsheartd.service.d/50-metrics.conf
  [ -x /usr/bin/prometheus-node-exporter ] || fail "no /usr/bin/prometheus-node-exporter (scripts/install-deps)"
  getent group prometheus >/dev/null || fail "no group prometheus"
  # shellcheck disable=SC2317 # runs on EXIT
  restore() {
    systemctl stop wsheart-node-exporter 2>/dev/null
    rm -f "$dropin"
    systemctl daemon-reload
    write_config alice bob
    systemctl restart wsheartd
    wait_until 15 "STATUS=2/2 users open" status_is "2/2 users open"
  }
  trap restore EXIT
  # As the package leaves it: root:root 0755.
  run install -d -m 0755 /var/lib/prometheus "$dir" || fail "mkdir"
  # The documented steps.
  run chgrp prometheus "$dir" || fail "chgrp"
  run chmod 2775 "$dir" || fail "chmod"
  mkdir -p "$(dirname "$dropin")"
  printf '[Service]\nReadWritePaths=%s\nSupplementaryGroups=prometheus\n' "$dir" >"$dropin"
  write_config alice bob
  printf '\n[daemon]\nmetrics_file = "%s"\nmetrics_interval = "500ms"\n' "$file" >>"$CONFIG"
  run systemctl daemon-reload || fail "daemon-reload"
  run systemctl restart wsheartd || fail "restart"
  wait_until 15 "STATUS=2/2 users open" status_is "2/2 users open" || fail "status: '$(status_text)'"
  wait_until 10 "$file written" test -f "$file" ||
    { journalctl -b -u wsheartd --no-pager -n 20; fail "no metrics file"; }
  run stat -c '%U:%G %a' "$file"
  [ "$(stat -c '%U:%G %a' "$file")" = "wsheartd:prometheus 640" ] || fail "owner/mode $(stat -c '%U:%G %a' "$file")"

  run systemd-run --unit=wsheart-node-exporter --property=Type=exec --property=User=prometheus \
    /usr/bin/prometheus-node-exporter --web.listen-address=127.0.0.1:$port --collector.disable-defaults \
    --collector.textfile --collector.textfile.directory="$dir" || fail "systemd-run node_exporter"
  wait_until 10 "node_exporter on $port" curl -sf "http://127.0.0.1:$port/metrics" || fail "node_exporter"
  # The file written at start saw the users connecting; the next one (0.5 s) sees them open.
  wait_until 10 "alice up in the scrape" bash -c \
    "curl -sf http://127.0.0.1:$port/metrics | grep -qx 'wsheartd_user_up{user=\"alice\"} 1'" ||
    fail "alice not up in the scrape"
  local scrape
  scrape=$(curl -sf "http://127.0.0.1:$port/metrics")
  grep '^wsheartd_\|^node_textfile' <<<"$scrape"
  grep -qx 'node_textfile_scrape_error 0' <<<"$scrape" || fail "node_textfile_scrape_error is not 0"
  # A message to alice: her received count moves in status --json and in the scrape alike.
  run wsheartctl send alice "echo:metrics" || fail "send"
  # shellcheck disable=SC2317 # called by wait_until
  same_rx() {
    local rx
    rx=$(user_field alice rx)
    [ "$rx" -gt 0 ] && curl -sf "http://127.0.0.1:$port/metrics" |
      grep -qx "wsheartd_user_messages_received_total{user=\"alice\"} $rx"
  }
  wait_until 10 "alice's rx in the scrape = status --json" same_rx || fail "rx differs: $(user_field alice rx)"
  # A clean stop removes the file: no stale figures.
  run systemctl stop wsheartd || fail "stop"
  [ ! -e "$file" ] || fail "the metrics file outlived the daemon"
  curl -sf "http://127.0.0.1:$port/metrics" | grep -qx 'node_textfile_scrape_error 0' ||
    fail "scrape error after the stop"
}

check "metrics: the unit writes wsheartd.prom (wsheartd:prometheus 0640) for node_exporter, as documented" \
  metrics_for_node_exporter 60
