#!/usr/bin/python3
"""Run a command as USER sandboxed like the unit's PrivateUsers=yes,
ProtectProc=invisible and ProcSubset=pid: in a user namespace where root and
USER (and their groups) map to themselves and every other uid/gid shows as
nobody, and a mount namespace whose /proc shows only USER's own processes and
no system files. Must be started as root.

    private_users.py USER -- COMMAND [ARGS...]

Stays the parent of COMMAND: forwards SIGTERM/SIGINT/SIGHUP and exits with
its status, so a test can treat it as the command itself.
"""
import ctypes
import os
import pwd
import signal
import sys

CLONE_NEWUSER = 0x10000000
CLONE_NEWNS = 0x00020000
MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x2, 0x4, 0x8
MS_REC, MS_PRIVATE = 0x4000, 0x40000


def hide_proc(libc):
    """A fresh /proc as ProtectProc=invisible + ProcSubset=pid mount it."""
    if libc.unshare(CLONE_NEWNS) != 0:
        return "unshare(CLONE_NEWNS)"
    if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return "mount --make-rprivate /"
    if libc.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  b"hidepid=invisible,subset=pid") != 0:
        return "mount proc hidepid=invisible,subset=pid"
    return None


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    entry = pwd.getpwnam(sys.argv[1])
    uid, gid, argv = entry.pw_uid, entry.pw_gid, sys.argv[3:]
    libc = ctypes.CDLL(None, use_errno=True)

    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(ready_r)
        os.close(go_w)
        failed = hide_proc(libc)
        if failed:
            os.write(2, f"private_users: {failed}: {os.strerror(ctypes.get_errno())}\n".encode())
            os._exit(126)
        if libc.unshare(CLONE_NEWUSER) != 0:
            os.write(2, f"private_users: unshare: {os.strerror(ctypes.get_errno())}\n".encode())
            os._exit(126)
        os.write(ready_w, b"1")
        if os.read(go_r, 1) != b"1":
            os._exit(126)
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
        try:
            os.execvp(argv[0], argv)
        except OSError as e:
            os.write(2, f"private_users: {argv[0]}: {e}\n".encode())
            os._exit(127)

    os.close(ready_w)
    os.close(go_r)
    if os.read(ready_r, 1) != b"1":
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status)
    for name, ident in (("uid_map", uid), ("gid_map", gid)):
        lines = "0 0 1\n" + (f"{ident} {ident} 1\n" if ident != 0 else "")
        with open(f"/proc/{pid}/{name}", "w") as f:
            f.write(lines)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda s, _f: os.kill(pid, s))
    os.write(go_w, b"1")
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


if __name__ == "__main__":
    sys.exit(main())
