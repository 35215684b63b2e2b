#!/usr/bin/env bash
# systemd-analyze checks of the generated units, without a running systemd.
#   units_test.sh verify|security GENERATED_DIR SBINDIR BINDIR DAEMON CTL [THRESHOLD]
# GENERATED_DIR holds system/wsheartd.service and user/wsheartd.service as
# configured for installation; SBINDIR/BINDIR are the install paths written
# into them, replaced here by the build-tree binaries DAEMON and CTL because
# `systemd-analyze verify` needs the ExecStart binaries to exist.
#
# verify: `systemd-analyze verify` exits 0 even for invalid values and only
#   prints warnings, so ANY output is a failure.
# security: --offline=true scores the system unit; the overall exposure must
#   be at most THRESHOLD (0.0-10.0, default 2.0).
set -euo pipefail

mode=$1 generated=$2 sbindir=$3 bindir=$4 daemon=$5 ctl=$6 threshold=${7:-2.0}

command -v systemd-analyze >/dev/null || { echo "SKIP: systemd-analyze not installed"; exit 77; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One copy per unit, each alone in its own directory and named as installed.
rewrite() {  # rewrite SRC DEST_DIR
  mkdir -p "$2"
  local name; name=$(basename "$1")
  sed -e "s|$sbindir/wsheartd|$daemon|g" -e "s|$bindir/wsheartctl|$ctl|g" "$1" >"$2/$name"
  if grep -qE "$sbindir/|$bindir/" "$2/$name"; then
    echo "FAIL: $1 still names an installed path after rewriting:" >&2
    grep -nE "$sbindir/|$bindir/" "$2/wsheartd.service" >&2
    exit 1
  fi
}
rewrite "$generated/system/wsheartd.service" "$work/system"
rewrite "$generated/user/wsheartd.service" "$work/user"
rewrite "$generated/user/wsheartd-notify.service" "$work/notify"

# The unit references man pages and file: docs; --man=no skips checking them.
# XDG_RUNTIME_DIR is needed by the user-manager path lookup (no session here).
export SYSTEMD_LOG_COLOR=0 SYSTEMD_PAGER=cat
runtime="$work/runtime"; mkdir -m 0700 "$runtime"

case "$mode" in
verify)
  status=0
  check() {  # check LABEL ARGS...
    local label=$1; shift
    local out rc=0
    out=$(cd "$work" && XDG_RUNTIME_DIR="$runtime" systemd-analyze "$@" 2>&1) || rc=$?
    if [ $rc -ne 0 ] || [ -n "$out" ]; then
      echo "FAIL: $label: systemd-analyze $* (exit $rc) printed:" >&2
      printf '%s\n' "$out" >&2
      status=1
    else
      echo "ok: $label verifies cleanly"
    fi
  }
  check "system unit" verify --man=no "$work/system/wsheartd.service"
  check "user unit" --user verify --man=no "$work/user/wsheartd.service"
  # The user unit must also be clean when read by the system manager, which
  # checks the settings the user manager ignores.
  check "user unit (as a system unit)" verify --man=no "$work/user/wsheartd.service"
  check "notify user unit" --user verify --man=no "$work/notify/wsheartd-notify.service"
  exit $status
  ;;
security)
  out=$(cd "$work" && systemd-analyze security --offline=true --man=no --no-pager \
        "$work/system/wsheartd.service" 2>&1) || true
  line=$(printf '%s\n' "$out" | grep -E '^→ Overall exposure level for wsheartd.service: ' || true)
  if [ -z "$line" ]; then
    echo "FAIL: no overall exposure level in the output:" >&2
    printf '%s\n' "$out" >&2
    exit 1
  fi
  # Exposed settings (✗) for the record.
  printf '%s\n' "$out" | grep '✗' || true
  echo "$line"
  score=$(printf '%s\n' "$line" | sed -E 's/.*: ([0-9]+\.[0-9]+).*/\1/')
  if awk -v s="$score" -v t="$threshold" 'BEGIN { exit !(s > t) }'; then
    echo "FAIL: exposure $score is above $threshold" >&2
    exit 1
  fi
  echo "ok: exposure $score <= $threshold"
  ;;
*)
  echo "usage: $0 verify|security GENERATED_DIR SBINDIR BINDIR DAEMON CTL [THRESHOLD]" >&2
  exit 2
  ;;
esac
