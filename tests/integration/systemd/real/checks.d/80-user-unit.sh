# The user unit under alice's real `systemctl --user` manager (lingering).

user_unit() {
  local uid
  uid=$(id -u alice)
  run loginctl enable-linger alice || fail "enable-linger"
  wait_until 20 "user@$uid.service and alice's session bus" \
    bash -c "systemctl is-active user@$uid.service && [ -S /run/user/$uid/bus ]" || fail "no user manager"
  as alice bash -c "mkdir -p ~/.config/wsheartd && umask 077 && printf '%s\n' \
    '[defaults]' 'url = \"ws://127.0.0.1:$ECHO_PORT/ws?user={id}\"' '[[user]]' 'id = \"alice-desk\"' \
    >~/.config/wsheartd/config.toml" || fail "user config"
  run as_session alice systemctl --user enable --now wsheartd || fail "systemctl --user enable --now"
  wait_until 15 "wsheartctl --user status exits 0" as_session alice wsheartctl --user status ||
    fail "wsheartctl --user status"
  run as_session alice wsheartctl --user status
  run as_session alice systemctl --user show -P StatusText wsheartd
  [ "$(as_session alice systemctl --user show -P StatusText wsheartd)" = "1/1 users open" ] || fail "user STATUS="
  run as_session alice systemctl --user reload wsheartd || fail "systemctl --user reload"
  run as_session alice systemctl --user disable --now wsheartd || fail "systemctl --user disable --now"
}

check "the user unit under systemctl --user (linger): enable --now, wsheartctl --user status, reload" user_unit 60
