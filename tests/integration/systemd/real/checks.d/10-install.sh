# Installing: the README's manual steps after `cmake --install` (mode
# install), or the package (mode deb).

readme_install_steps() {
  run systemd-sysusers || fail "systemd-sysusers"
  getent passwd wsheartd || fail "systemd-sysusers did not create the user wsheartd"
  run ln -s /usr/local/share/dbus-1/system.d/org.wsheartd1.conf /etc/dbus-1/system.d/ || fail "policy link"
  run systemctl reload dbus || fail "reload dbus"
  run install -D -m 0640 -g wsheartd /usr/local/share/doc/wsheartd/examples/config.toml "$CONFIG" ||
    fail "example config"
  run systemctl daemon-reload || fail "daemon-reload"
  run systemctl cat wsheartd.service | head -20
  [ "$(prop wsheartd.service LoadState)" = loaded ] || fail "wsheartd.service is not loaded"
}

deb_install() {
  local debs=(/out/deb/wsheartd_*.deb)
  [ -f "${debs[0]}" ] || fail "no /out/deb/wsheartd_*.deb"
  # Offline (private network): every dependency must already be installed
  # (this machine's /usr and dpkg database).
  mkdir -p /var/lib/apt/lists/partial /var/cache/apt/archives/partial /var/log/apt
  # Container images (docker's debian:12 among them) carry a policy-rc.d that
  # forbids maintainer scripts to start services; a machine booted with
  # systemd has none. Removed from the container's /usr overlay only.
  if [ -e /usr/sbin/policy-rc.d ]; then run rm /usr/sbin/policy-rc.d; fi
  DEBIAN_FRONTEND=noninteractive run apt-get install -y "${debs[@]}" ||
    fail "apt-get install ${debs[*]}"
  run dpkg -s wsheartd | grep -E '^(Status|Version):'
  dpkg -s wsheartd | grep -qx 'Status: install ok installed' || fail "not installed"
  getent passwd wsheartd || fail "no user wsheartd after install"
  run systemctl is-enabled wsheartd.service || fail "the package did not enable wsheartd"
  wait_until 10 "wsheartd active after install" systemctl is-active wsheartd.service || fail "not running"
  wait_until 10 "STATUS=no users configured" status_is "no users configured" ||
    fail "status: '$(status_text)'"
  run ls -l "$CONFIG"
  [ "$(stat -c '%U:%G %a' "$CONFIG")" = "root:wsheartd 640" ] || fail "$CONFIG is not root:wsheartd 0640"
}

if modes install; then
  check "README install steps: sysusers, bus policy link + reload dbus, example config, daemon-reload" readme_install_steps 60 fatal
fi
if modes deb; then
  check "apt-get install ./wsheartd_*.deb: installed, enabled, running, 'no users configured'" deb_install 120 fatal
fi
