#!/usr/bin/python3
"""The system bus policy systemd/org.wsheartd1.conf, checked on a private
system-style dbus-daemon whose config is the Debian default system policy plus
an <include> of ours.

    policy_test.py --policy FILE --sysusers FILE --daemon BIN --echo BIN

Needs root (it switches users with setpriv). Checks:
  - dbus-daemon accepts the file;
  - only the service user wsheartd may own org.wsheartd1 (root and nobody may
    not);
  - the real daemon, run as wsheartd (with --private-users: in a user
    namespace like the unit's PrivateUsers=yes, with /proc as ProtectProc=
    invisible + ProcSubset=pid leave it), owns the name, and `nobody` may
    introspect, Get/GetAll, GetManagedObjects, Subscribe, call the User
    methods the daemon allows it, and receives the daemon's signals: a
    broadcast StateChanged and MessageReceived, and a unicast MessageReceived
    of a unix_user = "nobody" user;
  - calls the policy leaves to the daemon get the daemon's own error
    (Reload() by nobody -> org.wsheartd1.Error.AccessDenied), while
    Properties.Set is refused by the bus itself;
  - root may Subscribe, Reload, and Send/RecentMessages/Reconnect of nobody's
    user; another uid (daemon) gets org.wsheartd1.Error.AccessDenied there.

The service user: if `wsheartd` does not exist the test creates it with
`systemd-sysusers FILE` -- exactly what installing does, and harmless on a
throwaway CI machine. Set WSHEART_TEST_NO_SYSUSERS=1 to forbid that; the test
then skips (exit 77) when the user is missing.
"""

import argparse
import os
import pwd
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

SKIP = 77
NAME = "org.wsheartd1"
failures = []


def check(condition, what, detail=""):
    if condition:
        print(f"ok: {what}")
    else:
        print(f"FAIL: {what}" + (f"\n      {detail}" if detail else ""))
        failures.append(what)


def as_user(user, argv):
    if user == "root":
        return argv
    group = {"nobody": "nogroup"}.get(user, user)
    return ["setpriv", f"--reuid={user}", f"--regid={group}", "--clear-groups", *argv]


def dbus_send(address, user, dest, path, method, *args, timeout=5):
    argv = as_user(user, ["dbus-send", f"--bus={address}", "--print-reply",
                          f"--reply-timeout={timeout * 1000}", f"--dest={dest}", path, method, *args])
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout + 5)
    return result.returncode, result.stdout + result.stderr


def call(address, user, path, method, *args):
    return dbus_send(address, user, NAME, path, method, *args)


def read_line(stream, deadline, what):
    buffer = b""
    while not buffer.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([stream], [], [], left)[0]:
            raise RuntimeError(f"timed out waiting for {what}")
        chunk = os.read(stream.fileno(), 1)
        if not chunk:
            raise RuntimeError(f"EOF while waiting for {what}")
        buffer += chunk
    return buffer.decode().strip()


DEFAULT_POLICY = """
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
"""

SUBSCRIBER = r"""
import sys
import dbus
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

DBusGMainLoop(set_as_default=True)
bus = dbus.bus.BusConnection(sys.argv[1])
want = set(sys.argv[2:])
loop = GLib.MainLoop()

def seen(what):
    print(what, flush=True)
    want.discard(what)
    if not want:
        loop.quit()

def on_message(seq, text, path=None, destination=None):
    seen(("unicast" if destination else "broadcast") + " message " + str(text))

def on_state(old, new, reason, path=None):
    seen("state " + str(reason).split(":")[0])

bus.add_signal_receiver(on_message, "MessageReceived", "org.wsheartd1.User", "org.wsheartd1",
                        path_keyword="path", destination_keyword="destination")
bus.add_signal_receiver(on_state, "StateChanged", "org.wsheartd1.User", "org.wsheartd1",
                        path_keyword="path")
bus.call_blocking("org.wsheartd1", "/org/wsheartd1", "org.wsheartd1.Manager", "Subscribe", "", [])
print("SUBSCRIBED", flush=True)
GLib.timeout_add_seconds(10, loop.quit)
loop.run()
if want:
    print("subscriber: not received: " + ", ".join(sorted(want)), file=sys.stderr)
sys.exit(0 if not want else 1)
"""


def user_path(user_id):
    # sd_bus_path_encode: [A-Za-z0-9] kept, everything else _XX.
    return "/org/wsheartd1/user/" + "".join(
        c if c.isascii() and c.isalnum() else "_%02x" % ord(c) for c in user_id)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--policy", required=True)
    parser.add_argument("--sysusers", required=True)
    parser.add_argument("--daemon", required=True)
    parser.add_argument("--echo", required=True)
    parser.add_argument("--private-users", help="private_users.py: run the daemon as PrivateUsers=yes would")
    args = parser.parse_args()

    if os.geteuid() != 0:
        print("SKIP: needs root (switches users with setpriv)")
        return SKIP
    for tool in ("dbus-daemon", "dbus-send", "setpriv"):
        if shutil.which(tool) is None:
            print(f"SKIP: {tool} not installed")
            return SKIP

    try:
        pwd.getpwnam("wsheartd")
    except KeyError:
        if os.environ.get("WSHEART_TEST_NO_SYSUSERS") or shutil.which("systemd-sysusers") is None:
            print("SKIP: no user wsheartd (and not allowed or able to create it with systemd-sysusers)")
            return SKIP
        print(f"creating the service user: systemd-sysusers {args.sysusers}")
        subprocess.run(["systemd-sysusers", args.sysusers], check=True)
        pwd.getpwnam("wsheartd")

    if args.private_users:
        probe = subprocess.run(["/usr/bin/python3", args.private_users, "wsheartd", "--", "true"],
                               capture_output=True, text=True)
        if probe.returncode != 0:
            print(f"note: no user namespaces here ({probe.stderr.strip()}); the daemon runs without one")
            args.private_users = None

    work = tempfile.mkdtemp(prefix="wsheart-policy-")
    os.chmod(work, 0o755)  # the socket and the config must be reachable by other users
    processes = []
    try:
        return run(args, work, processes)
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        daemon_log = os.path.join(work, "daemon.log")
        if failures and os.path.exists(daemon_log):
            print("--- daemon log ---")
            print(open(daemon_log).read())
        shutil.rmtree(work, ignore_errors=True)


def run(args, work, processes):
    deadline = time.monotonic() + 20
    socket_path = os.path.join(work, "system_bus_socket")
    bus_config = os.path.join(work, "system.conf")
    with open(bus_config, "w") as f:
        f.write(textwrap.dedent(f"""\
            <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
             "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
            <busconfig>
              <type>system</type>
              <listen>unix:path={socket_path}</listen>
              <auth>EXTERNAL</auth>
            """) + DEFAULT_POLICY + f"""  <include>{os.path.abspath(args.policy)}</include>\n</busconfig>\n""")

    bus = subprocess.Popen(["dbus-daemon", f"--config-file={bus_config}", "--nofork", "--print-address=1"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    processes.append(bus)
    try:
        address = read_line(bus.stdout, deadline, "the bus address")
    except RuntimeError as e:
        check(False, "dbus-daemon accepts a config including the policy", f"{e}: {bus.stderr.read1().decode()}")
        return 1
    check(address.startswith("unix:"), "dbus-daemon accepts a config including the policy", address)

    def request_name(user):
        return dbus_send(address, user, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                         "org.freedesktop.DBus.RequestName", f"string:{NAME}", "uint32:4")

    for user in ("nobody", "root"):
        rc, out = request_name(user)
        check(rc != 0 and "org.freedesktop.DBus.Error.AccessDenied" in out,
              f"{user} may not own {NAME}", out.strip())
    rc, out = request_name("wsheartd")
    check(rc == 0 and "uint32 1" in out, f"wsheartd may own {NAME}", out.strip())

    # A WebSocket server for the daemon, so that it has messages to republish.
    echo = subprocess.Popen([args.echo, "--port", "0", "--quiet"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    processes.append(echo)
    port = read_line(echo.stdout, deadline, "the echo server's port").split()[-1]

    config = os.path.join(work, "config.toml")
    with open(config, "w") as f:
        f.write(textwrap.dedent(f"""\
            [defaults]
            url = "ws://127.0.0.1:{port}/ws?user={{id}}"
            reconnect_initial = "50ms"
            reconnect_max = "200ms"

            [[user]]
            id = "open"

            [[user]]
            id = "private"
            unix_user = "nobody"
            """))
    os.chmod(config, 0o644)

    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=address)
    env.pop("NOTIFY_SOCKET", None)
    env.pop("WATCHDOG_USEC", None)
    with open(os.path.join(work, "daemon.log"), "w") as log:
        daemon_argv = [args.daemon, "--system", "--config", config, "--log-level", "debug"]
        if args.private_users:
            # As the unit runs it: in a user namespace where only root and
            # wsheartd map to themselves, so the uid checks are tested too.
            daemon_argv = ["/usr/bin/python3", args.private_users, "wsheartd", "--", *daemon_argv]
        else:
            daemon_argv = as_user("wsheartd", daemon_argv)
        daemon = subprocess.Popen(daemon_argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    processes.append(daemon)

    open_path, private_path = user_path("open"), user_path("private")

    def state(path):
        rc, out = call(address, "root", path, "org.freedesktop.DBus.Properties.Get",
                       "string:org.wsheartd1.User", "string:State")
        return out if rc == 0 else ""

    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            break
        if '"open"' in state(open_path) and '"open"' in state(private_path):
            break
        time.sleep(0.1)
    check(daemon.poll() is None and '"open"' in state(private_path),
          "the daemon runs as wsheartd" + (" (PrivateUsers-style namespace)" if args.private_users else "") +
          ", owns the name and opens both users")
    if failures:
        return 1

    rc, out = call(address, "nobody", "/org/wsheartd1", "org.freedesktop.DBus.Introspectable.Introspect")
    check(rc == 0 and "org.wsheartd1.Manager" in out, "nobody may introspect", out[:300])
    rc, out = call(address, "nobody", "/org/wsheartd1", "org.freedesktop.DBus.Peer.Ping")
    check(rc == 0, "nobody may Ping", out.strip())
    rc, out = call(address, "nobody", "/org/wsheartd1", "org.freedesktop.DBus.Properties.Get",
                   "string:org.wsheartd1.Manager", "string:UserCount")
    check(rc == 0 and "uint32 2" in out, "nobody may Get a property", out.strip())
    rc, out = call(address, "nobody", open_path, "org.freedesktop.DBus.Properties.GetAll",
                   "string:org.wsheartd1.User")
    check(rc == 0 and "MessagesReceived" in out, "nobody may GetAll", out[:300])
    rc, out = call(address, "nobody", "/org/wsheartd1", "org.freedesktop.DBus.ObjectManager.GetManagedObjects")
    check(rc == 0 and private_path in out and open_path in out, "nobody may GetManagedObjects", out[:300])
    rc, out = call(address, "nobody", "/org/wsheartd1", "org.freedesktop.DBus.Properties.Set",
                   "string:org.wsheartd1.Manager", "string:Version", "variant:string:x")
    check(rc != 0 and "org.freedesktop.DBus.Error.AccessDenied" in out,
          "Properties.Set is refused by the bus", out.strip())
    rc, out = call(address, "nobody", "/org/wsheartd1", "org.wsheartd1.Manager.Reload")
    check(rc != 0 and "org.wsheartd1.Error.AccessDenied" in out,
          "Reload() by nobody passes the bus and is refused by the daemon", out.strip())
    rc, out = call(address, "nobody", private_path, "org.wsheartd1.User.RecentMessages", "uint64:0")
    check(rc == 0, "nobody may call RecentMessages of its own unix_user user", out.strip())
    rc, out = call(address, "nobody", "/org/wsheartd1", "org.wsheartd1.Manager.Unsubscribe")
    check(rc == 0, "nobody may call Unsubscribe", out.strip())

    # The daemon's own uid checks, with the caller's uid from the bus driver:
    # the sandbox hides every other process's /proc from the daemon.
    for method, arg in (("Subscribe", None), ("Reload", None)):
        rc, out = call(address, "root", "/org/wsheartd1", f"org.wsheartd1.Manager.{method}",
                       *([arg] if arg else []))
        check(rc == 0, f"root may call {method}", out.strip())
    for method, arg in (("Send", "string:echo:from-root"), ("RecentMessages", "uint64:0"), ("Reconnect", None)):
        rc, out = call(address, "root", private_path, f"org.wsheartd1.User.{method}", *([arg] if arg else []))
        check(rc == 0, f"root may call {method} of a unix_user user", out.strip())
    for method, arg in (("Send", "string:echo:x"), ("RecentMessages", "uint64:0"), ("Reconnect", None)):
        rc, out = call(address, "daemon", private_path, f"org.wsheartd1.User.{method}", *([arg] if arg else []))
        check(rc != 0 and "org.wsheartd1.Error.AccessDenied" in out,
              f"another uid (daemon) gets AccessDenied from {method} of nobody's user", out.strip())

    # Signals: nobody subscribes, then receives a unicast message of its own
    # unix_user user, a broadcast message and a broadcast StateChanged.
    expected = ["unicast message to-private", "broadcast message to-open", "state manual"]
    subscriber = subprocess.Popen(as_user("nobody", ["/usr/bin/python3", "-c", SUBSCRIBER, address, *expected]),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    processes.append(subscriber)
    try:
        line = read_line(subscriber.stdout, deadline, "the subscriber")
    except RuntimeError as e:
        line = str(e)
    if line != "SUBSCRIBED":
        subscriber.kill()
        line += " " + subscriber.communicate()[1].decode()
    check(line == "SUBSCRIBED", "nobody may Subscribe", line)
    if subscriber.poll() is not None:
        return 1
    rc, out = call(address, "nobody", private_path, "org.wsheartd1.User.Send", "string:echo:to-private")
    check(rc == 0, "nobody may Send to its own unix_user user", out.strip())
    rc, out = call(address, "nobody", open_path, "org.wsheartd1.User.Send", "string:echo:to-open")
    check(rc == 0, "nobody may Send to a user without unix_user", out.strip())
    rc, out = call(address, "nobody", open_path, "org.wsheartd1.User.Reconnect")
    check(rc == 0, "nobody may Reconnect a user without unix_user", out.strip())
    try:
        out, err = subscriber.communicate(timeout=max(1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        subscriber.kill()
        out, err = subscriber.communicate()
    received = out.decode().split("\n")
    for what in expected:
        check(what in received, f"nobody receives the {what.split(' ')[0]} {what.split(' ')[1]} signal",
              f"got {received}, exit {subscriber.returncode}, stderr: {err.decode()[-500:]}")
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        status = main()
    except Exception as e:  # report, do not hang ctest
        print(f"FAIL: {type(e).__name__}: {e}")
        status = 1
    if status == 0 and failures:
        status = 1
    print("PASS" if status == 0 else ("SKIPPED" if status == SKIP else f"{len(failures)} failure(s)"))
    sys.exit(status)
