#!/usr/bin/env bash
# `cmake --install` puts every file where docs/operations.md says.
#   install_test.sh BUILD_DIR ETC_CONFIG(ON|OFF) SYSTEM_UNIT_DIR USER_UNIT_DIR SYSUSERS_DIR POLICY_DIR SYSTEM_SERVICES_DIR SESSION_SERVICES_DIR
# The *_DIR arguments are the configured destinations (relative to the prefix).
# 1. --prefix STAGE: everything lands below STAGE (install_manifest.txt lists
#    nothing outside), no etc/ (only the prefix /usr installs /etc/wsheartd).
# 2. DESTDIR=ROOT --prefix /usr: the packaging layout, plus
#    ROOT/etc/wsheartd/config.toml (0640), which a second install keeps.
set -euo pipefail

build=$1 etc_config=$2; shift 2
dirs=("$@")
for d in "${dirs[@]}"; do
  case "$d" in /*) echo "SKIP: $d is absolute, so an install cannot stay inside a staging prefix"; exit 77 ;; esac
done
system_units=$1 user_units=$2 sysusers=$3 policy=$4 system_services=$5 session_services=$6

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
fail() { echo "FAIL: $*" >&2; status=1; }

expected_files() {  # relative to the prefix
  cat <<LIST
sbin/wsheartd
bin/wsheartctl
$system_units/wsheartd.service
$user_units/wsheartd.service
$user_units/wsheartd-notify.service
$sysusers/wsheartd.conf
$policy/org.wsheartd1.conf
$system_services/org.wsheartd1.service
$session_services/org.wsheartd1.service
share/dbus-1/interfaces/org.wsheartd1.xml
share/doc/wsheartd/examples/config.toml
share/doc/wsheartd/operations.md
share/doc/wsheartd/desktop.md
LIST
}

check_tree() {  # check_tree PREFIX_DIR
  local root=$1 f
  while read -r f; do
    [ -f "$root/$f" ] && echo "ok: $f" || fail "missing $root/$f"
  done < <(expected_files)
  [ -x "$root/sbin/wsheartd" ] || fail "sbin/wsheartd is not executable"
  # The unit runs the installed binaries of the configured prefix.
  local exec
  exec=$(sed -n 's/^ExecStart=//p' "$root/$system_units/wsheartd.service")
  case "$exec" in
    /*/sbin/wsheartd\ --system) echo "ok: ExecStart=$exec" ;;
    *) fail "system unit: unexpected ExecStart=$exec" ;;
  esac
  grep -qE '^ExecStart=/.*/bin/wsheartctl notify$' "$root/$user_units/wsheartd-notify.service" \
    || fail "notify user unit: unexpected ExecStart"
  grep -q '^WantedBy=graphical-session.target$' "$root/$user_units/wsheartd-notify.service" \
    || fail "notify user unit lacks WantedBy=graphical-session.target"
  grep -q '^SystemdService=dbus-org.wsheartd1.service$' "$root/$system_services/org.wsheartd1.service" \
    || fail "system activation file does not name dbus-org.wsheartd1.service"
  grep -q '^Alias=dbus-org.wsheartd1.service$' "$root/$system_units/wsheartd.service" \
    || fail "system unit lacks Alias=dbus-org.wsheartd1.service"
  grep -q '^User=wsheartd$' "$root/$system_services/org.wsheartd1.service" \
    || fail "system activation file lacks User=wsheartd"
}

# 1. A staging prefix.
stage="$work/stage"
cmake --install "$build" --prefix "$stage" >"$work/install1.log" 2>&1 || { cat "$work/install1.log"; exit 1; }
check_tree "$stage"
[ ! -e "$stage/etc" ] || fail "an install into $stage wrote $stage/etc"
while read -r f; do
  case "$f" in "$stage"/*) ;; *) fail "installed outside the prefix: $f" ;; esac
done <"$build/install_manifest.txt"

# 2. The packaging layout: DESTDIR + /usr.
root="$work/root"
DESTDIR="$root" cmake --install "$build" --prefix /usr >"$work/install2.log" 2>&1 || { cat "$work/install2.log"; exit 1; }
check_tree "$root/usr"
config="$root/etc/wsheartd/config.toml"
if [ "$etc_config" = OFF ] || [ "$etc_config" = FALSE ] || [ "$etc_config" = 0 ]; then
  [ ! -e "$config" ] || fail "WSHEART_INSTALL_ETC_CONFIG is off, yet $config was installed"
elif [ -f "$config" ]; then
  mode=$(stat -c %a "$config")
  [ "$mode" = 640 ] && echo "ok: etc/wsheartd/config.toml (mode $mode)" || fail "$config has mode $mode, not 640"
  echo "# edited by the admin" >>"$config"
  DESTDIR="$root" cmake --install "$build" --prefix /usr >"$work/install3.log" 2>&1 || { cat "$work/install3.log"; exit 1; }
  grep -q '^# edited by the admin$' "$config" && echo "ok: a second install keeps an existing config" \
    || fail "a second install overwrote $config"
else
  fail "missing $config"
fi
cmp -s "$root/usr/share/doc/wsheartd/examples/config.toml" "$stage/share/doc/wsheartd/examples/config.toml" \
  || fail "the example configs of both installs differ"
exit $status
