#!/bin/bash
# The units under a real systemd: boots systemd (PID 1 of a systemd-nspawn
# container made from this machine's /usr and a copy of /etc), installs
# wsheartd there as a user would, and runs the checks in checks.d/ inside it.
#
#   run.sh install BUILD_DIR   `DESTDIR=... cmake --install BUILD_DIR`, bound at
#                              /usr/local, then the README's manual steps
#   run.sh deb FILE.deb [ECHO] `apt-get install ./FILE.deb` (/usr writable through
#                              an overlay); ECHO: a wsheart-echo binary for the
#                              test server (default: the one in $PATH)
#
# Needs root and systemd-nspawn (package systemd-container); without them it
# fails. Prints each check's result as it finishes, and on failure the
# failing checks' output and the container's journal. Exit 0 when every check
# passed. Leaves nothing behind (temporary directory, container).
# WSHEART_NSPAWN_KEEP=1 keeps the temporary directory for a look afterwards.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mode=${1:-}
usage() {
  sed -n '5,10p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
case $mode in
  install) [ $# -eq 2 ] || usage ;;
  deb) if [ $# -lt 2 ] || [ $# -gt 3 ]; then usage; fi ;;
  *) usage ;;
esac

die() {
  echo "real-systemd: $*" >&2
  exit 1
}
[ "$(id -u)" -eq 0 ] || die "needs root (systemd-nspawn)"
command -v systemd-nspawn >/dev/null || die "systemd-nspawn not found: apt-get install systemd-container"
[ -x /lib/systemd/systemd ] || die "no /lib/systemd/systemd to boot"

work=$(mktemp -d /tmp/wsheart-nspawn.XXXXXX)
nspawn_pid=""
cleanup() {
  if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
    kill -TERM "$nspawn_pid" 2>/dev/null || true
    wait "$nspawn_pid" 2>/dev/null || true
  fi
  if [ -n "${WSHEART_NSPAWN_KEEP:-}" ]; then
    echo "real-systemd: kept $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

root=$work/root
out=$work/out
mkdir -p "$root"/{usr,dev,proc,sys,run,tmp,var/lib,root,home} "$out"/{deb,tools}
chmod 1777 "$root/tmp"
for l in bin lib lib64 sbin lib32 libx32; do [ -e "/$l" ] && ln -s "usr/$l" "$root/$l"; done

# /etc: this machine's, without any earlier wsheartd install and with systemd
# booting into the suite's target (basic system, bus, logind; not the
# machine's own services).
cp -a /etc "$root/etc"
rm -f "$root/etc/machine-id" "$root/etc/os-release"
cp /usr/lib/os-release "$root/etc/os-release"
rm -rf "$root/etc/wsheartd" "$root"/etc/dbus-1/system.d/org.wsheartd1.conf \
  "$root"/etc/systemd/system/wsheartd.service* "$root"/etc/systemd/system/dbus-org.wsheartd1.service \
  "$root"/etc/systemd/system/*/wsheartd.service "$root"/etc/systemd/user/*/wsheartd.service
for f in passwd group shadow gshadow; do
  [ -f "$root/etc/$f" ] && sed -i '/^wsheartd:/d;/^alice:/d;/^mallory:/d' "$root/etc/$f"
done
units=$root/etc/systemd/system
cat >"$units/wsheart-suite.target" <<'UNIT'
[Unit]
Description=wsheartd real-systemd suite
Requires=basic.target
Wants=dbus.service systemd-logind.service systemd-user-sessions.service wsheart-suite.service
After=basic.target
AllowIsolate=yes
UNIT
ln -sf wsheart-suite.target "$units/default.target"
# The unit wants network-online.target; with only a loopback (--private-network)
# a wait-online service would hold its start for minutes.
for unit in systemd-networkd-wait-online.service NetworkManager-wait-online.service; do
  ln -sf /dev/null "$units/$unit"
done
cat >"$units/wsheart-suite.service" <<UNIT
[Unit]
Description=wsheartd real-systemd suite: the checks
After=basic.target dbus.service systemd-logind.service systemd-user-sessions.service
[Service]
Type=exec
ExecStart=/bin/bash /suite/runner.sh $mode
StandardOutput=append:/out/runner.log
StandardError=append:/out/runner.log
UNIT

# The stand-in notification server of the notify tests, for the notify unit's check.
cp "$here/../../../cli/mock_notifications.py" "$out/tools/"
binds=(--bind-ro="$here:/suite" --bind="$out:/out")
if [ "$mode" = install ]; then
  build=$(cd "$2" && pwd)
  prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
  [ "$prefix" = /usr/local ] || die "$build is configured for the prefix '$prefix'; the suite installs into /usr/local"
  # As a user would (cmake --install), staged and bound at /usr/local.
  DESTDIR=$work/stage cmake --install "$build" >"$work/install.log" || {
    cat "$work/install.log"
    die "cmake --install failed"
  }
  binds+=(--bind-ro=/usr --bind-ro="$work/stage/usr/local:/usr/local")
else
  deb=$2
  [ -f "$deb" ] || die "no such file: $deb"
  cp "$deb" "$out/deb/"
  echo_bin=${3:-$(command -v wsheart-echo || true)}
  if [ -z "$echo_bin" ] || [ ! -x "$echo_bin" ]; then die "deb mode needs a wsheart-echo binary (third argument)"; fi
  cp "$echo_bin" "$out/tools/wsheart-echo"
  # dpkg needs a writable /usr and this machine's package database.
  mkdir -p "$work/usr-upper"
  cp -a /var/lib/dpkg "$root/var/lib/"
  binds+=(--overlay="/usr:$work/usr-upper:/usr")
fi

start=$(date +%s)
echo "real-systemd: booting systemd in a container ($mode mode; $work)"
timeout -k 15 "${WSHEART_NSPAWN_TIMEOUT:-240}" systemd-nspawn -q -D "$root" "${binds[@]}" \
  --private-network --register=no --keep-unit --console=passive -M "wsh-suite-$$" --boot \
  >"$work/nspawn.log" 2>&1 &
nspawn_pid=$!
# Live progress: each check's line as the runner writes it.
touch "$out/progress"
tail -n +1 -F --pid="$nspawn_pid" "$out/progress" 2>/dev/null | sed 's/^/  /' &
tail_pid=$!
rc=0
wait "$nspawn_pid" || rc=$?
nspawn_pid=""
wait "$tail_pid" 2>/dev/null || true
elapsed=$(($(date +%s) - start))

result=$(cat "$out/result" 2>/dev/null || echo "NO RESULT")
if [ "$result" != PASS ]; then
  echo "real-systemd: $result (nspawn exit $rc, ${elapsed}s)"
  for log in "$out"/checks/*.log; do
    [ -e "$log" ] || continue
    name=$(basename "$log")
    if grep -q "log checks/$name)" "$out/progress"; then
      echo "----- ${name%.log} -----"
      tail -40 "$log"
    fi
  done
  if [ -s "$out/runner.log" ]; then
    echo "----- runner -----"
    tail -20 "$out/runner.log"
  fi
  echo "----- container journal (last 80 lines) -----"
  if [ -s "$out/journal.txt" ]; then tail -80 "$out/journal.txt"; else tail -40 "$work/nspawn.log"; fi
  [ "$rc" -eq 124 ] && echo "real-systemd: the container did not finish within ${WSHEART_NSPAWN_TIMEOUT:-240}s"
  exit 1
fi
echo "real-systemd: PASS, $(grep -c '^ok' "$out/progress") checks in ${elapsed}s; systemd-analyze security: $(cat "$out/security.txt" 2>/dev/null || echo '?')"
