# The package's removal: remove stops the service and keeps the config,
# purge removes /etc/wsheartd (with what the admin put there).
modes deb || return 0

apt_remove() {
  DEBIAN_FRONTEND=noninteractive run apt-get remove -y wsheartd || fail "apt-get remove"
  ! systemctl is-active wsheartd || fail "still running after remove"
  [ ! -e /usr/sbin/wsheartd ] || fail "/usr/sbin/wsheartd left after remove"
  [ -f "$CONFIG" ] || fail "remove deleted the config (a conffile: only purge may)"
}

apt_purge() {
  # What an admin adds next to the config (docs/operations.md: secrets) goes too.
  install -m 0600 /dev/null /etc/wsheartd/headers
  DEBIAN_FRONTEND=noninteractive run apt-get purge -y wsheartd || fail "apt-get purge"
  ! dpkg -s wsheartd 2>/dev/null | grep -q '^Status: .* installed' || fail "still known to dpkg"
  [ ! -e /etc/wsheartd ] || { ls -la /etc/wsheartd; fail "/etc/wsheartd left after purge"; }
  [ ! -e /var/lib/wsheartd ] || fail "/var/lib/wsheartd left after purge"
  [ ! -e /etc/systemd/system/multi-user.target.wants/wsheartd.service ] || fail "enable link left after purge"
  [ ! -e /etc/systemd/system/dbus-org.wsheartd1.service ] || fail "alias link left after purge"
}

check "apt-get remove: stops the service, keeps the config" apt_remove 60
check "apt-get purge: removes /etc/wsheartd (config, added secrets) and the enable links" apt_purge 60
