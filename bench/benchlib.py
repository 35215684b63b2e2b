"""Shared plumbing for the wsheartd benchmarks (stdlib only, /usr/bin/python3).

Every process a benchmark starts is registered here and killed by PID on any
exit (normal, exception, SIGINT/SIGTERM/SIGHUP): SIGTERM, a bounded wait, then
SIGKILL. All network traffic is loopback. Every wait is bounded in time.
"""

import atexit
import json
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLK_TCK = os.sysconf("SC_CLK_TCK")

_procs = []          # every Popen we started, in order
_tmpdirs = []
_cleaned = False


# ---------------------------------------------------------------------------
# cleanup

def _kill_all():
    global _cleaned
    if _cleaned:
        return
    _cleaned = True
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # finish cleaning up first
        signal.signal(s, signal.SIG_IGN)
    for p in reversed(_procs):
        if p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 3.0
    for p in reversed(_procs):
        left = max(0.0, deadline - time.monotonic())
        try:
            p.wait(timeout=left)
        except subprocess.TimeoutExpired:
            try:
                os.kill(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
    for d in _tmpdirs:
        if os.environ.get("WSHEART_BENCH_KEEP"):
            print(f"(kept {d})", file=sys.stderr)
        else:
            shutil.rmtree(d, ignore_errors=True)


def _on_signal(signum, _frame):
    raise SystemExit(128 + signum)


atexit.register(_kill_all)
for _s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(_s, _on_signal)


def stop(p, timeout=3.0):
    """Stops one process by PID (SIGTERM, then SIGKILL) and reaps it."""
    if p.poll() is None:
        try:
            os.kill(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(p.pid, signal.SIGKILL)
        # A killed process with 10,000 sockets takes seconds to go on a loaded
        # machine (the kernel closes every socket); SIGKILL always ends it.
        p.wait(timeout=60)


def tmpdir(prefix="wsheart-bench-"):
    d = tempfile.mkdtemp(prefix=prefix)
    _tmpdirs.append(d)
    return d


def spawn(argv, **kw):
    p = subprocess.Popen(argv, **kw)
    _procs.append(p)
    return p


# ---------------------------------------------------------------------------
# build

def build_dir():
    return os.environ.get("WSHEART_BUILD") or os.path.join(REPO, "build-bench")


def binaries():
    b = build_dir()
    return {
        # WSHEART_DAEMON: compare another wsheartd build (before/after figures).
        "wsheartd": os.environ.get("WSHEART_DAEMON") or os.path.join(b, "daemon", "wsheartd"),
        "echo": os.path.join(b, "tools", "wsheart-echo", "wsheart-echo"),
        "sub": os.path.join(b, "bench", "wsheart-bench-sub"),
        "emit": os.path.join(b, "bench", "wsheart-bench-emit"),
    }


def ensure_build():
    """Configures (Release) and builds the four programs if any is missing."""
    bins = binaries()
    if all(os.access(p, os.X_OK) for p in bins.values()):
        return bins
    b = build_dir()
    print(f"building into {b} (Release) ...", file=sys.stderr, flush=True)
    if not os.path.exists(os.path.join(b, "CMakeCache.txt")):
        gen = ["-G", "Ninja"] if shutil.which("ninja") else []
        subprocess.run(["cmake", "-S", REPO, "-B", b, *gen, "-DCMAKE_BUILD_TYPE=Release"], check=True,
                       stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", b, "--target", "wsheartd", "wsheart-echo", "wsheart-bench-sub",
                    "wsheart-bench-emit"], check=True, stdout=subprocess.DEVNULL)
    return bins


# ---------------------------------------------------------------------------
# machine and /proc

def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = f"{int(line.split()[1]) // 1024} MiB"
    except OSError:
        pass
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"machine: {os.cpu_count()} CPU(s) ({model}), {mem} RAM, Linux {platform.release()}, "
            f"load average {load}")


def cpu_seconds(pid):
    """utime + stime of a process (all threads), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        data = f.read()
    fields = data[data.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def mem_kib(pid):
    """(VmRSS, VmHWM) in KiB from /proc/<pid>/status."""
    rss = hwm = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    return rss, hwm


def rollup_kib(pid):
    """(Pss, Anonymous) in KiB from /proc/<pid>/smaps_rollup: what the process
    costs beyond the shared library pages that VmRSS also counts."""
    pss = anon = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
                elif line.startswith("Anonymous:"):
                    anon = int(line.split()[1])
    except OSError:
        pass
    return pss, anon


def raise_nofile(needed):
    """Raises this process's soft RLIMIT_NOFILE (inherited by the children)
    to the hard limit; returns (soft, hard). Like `ulimit -n $(ulimit -Hn)`."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, needed)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        raise SystemExit(f"RLIMIT_NOFILE hard limit {hard} < {needed} needed: raise it "
                         f"(e.g. `ulimit -Hn {needed}` as root, or LimitNOFILE=)")
    return soft, hard


# ---------------------------------------------------------------------------
# processes

class Bus:
    """A private session-style dbus-daemon (limits as Debian's session.conf)."""

    def __init__(self, d):
        conf = os.path.join(d, "bus.conf")
        with open(conf, "w") as f:
            f.write(f"""<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:path={d}/bus</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/>
<allow own="*"/></policy>
<limit name="max_incoming_bytes">1000000000</limit>
<limit name="max_outgoing_bytes">1000000000</limit>
<limit name="max_message_size">1000000000</limit>
<limit name="max_completed_connections">100000</limit>
<limit name="max_connections_per_user">100000</limit>
<limit name="max_match_rules_per_connection">50000</limit>
<limit name="max_replies_per_connection">50000</limit>
</busconfig>
""")
        self.proc = spawn(["dbus-daemon", f"--config-file={conf}", "--nofork", "--print-address=1"],
                          stdout=subprocess.PIPE, text=True)
        self.address = read_line(self.proc.stdout, lambda l: l.startswith("unix:"), 10, "dbus-daemon address")
        self.pid = self.proc.pid

    def busctl(self, *args, timeout=60):
        r = subprocess.run(["busctl", f"--address={self.address}", *args], capture_output=True, text=True,
                           timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError(f"busctl {' '.join(args)}: {r.stderr.strip()}")
        return r.stdout


def read_line(stream, pred, timeout, what):
    """Reads lines from a pipe until pred(line); bounded by timeout."""
    result = []

    def reader():
        for line in stream:
            if pred(line.strip()):
                result.append(line.strip())
                return

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    t.join(timeout)
    if not result:
        raise RuntimeError(f"timed out waiting for {what}")
    return result[0]


class Echo:
    def __init__(self, bins, d, *extra):
        self.log = os.path.join(d, "echo.log")
        self.proc = spawn([bins["echo"], "--port", "0", "--quiet", *extra], stdout=subprocess.PIPE,
                          stderr=open(self.log, "w"), text=True)
        line = read_line(self.proc.stdout, lambda l: l.startswith("PORT "), 10, "wsheart-echo PORT line")
        self.port = int(line.split()[1])
        self.pid = self.proc.pid

    def log_lines(self):
        with open(self.log) as f:
            return f.read().splitlines()

    def wait_log(self, needle, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.log_lines():
                if needle in line:
                    return line
            time.sleep(0.01)
        raise RuntimeError(f"wsheart-echo did not log {needle!r} within {timeout} s")


def write_config(d, port, users, daemon=None, defaults=None, ids=None):
    path = os.path.join(d, "config.toml")
    lines = ["[daemon]"]
    for k, v in (daemon or {}).items():
        lines.append(f"{k} = {json.dumps(v)}")
    lines.append("[defaults]")
    lines.append(f'url = "ws://127.0.0.1:{port}/ws?user={{id}}"')
    for k, v in (defaults or {}).items():
        lines.append(f"{k} = {json.dumps(v)}")
    for i in range(users):
        uid = ids[i] if ids else f"u{i}"
        lines.append(f'[[user]]\nid = "{uid}"')
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.chmod(path, 0o600)
    return path


class Daemon:
    """wsheartd --user on the private bus, with NOTIFY_SOCKET caught here.

    The notify socket is drained by a thread for the daemon's whole life (its
    queue holds only ~10 datagrams and an unread one blocks the sender)."""

    def __init__(self, bins, d, bus, config, log_level="warning", wrapper=()):
        self.notify_path = os.path.join(d, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.notify_path)
        self.sock.settimeout(0.2)
        self.ready_at = None   # time.monotonic() when READY=1 arrived
        self.status = []
        self._stop = False
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()
        env = dict(os.environ)
        env["DBUS_SESSION_BUS_ADDRESS"] = bus.address
        env["NOTIFY_SOCKET"] = self.notify_path
        env.pop("WATCHDOG_USEC", None)
        env.pop("WATCHDOG_PID", None)
        self.log = os.path.join(d, "wsheartd.log")
        self.started_at = time.monotonic()
        self.proc = spawn([*wrapper, bins["wsheartd"], "--user", "--config", config, "--log-level", log_level], env=env,
                          stderr=open(self.log, "w"), stdout=subprocess.DEVNULL)
        self.pid = self.proc.pid

    def _drain(self):
        while not self._stop:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            now = time.monotonic()
            for line in data.decode(errors="replace").splitlines():
                if line == "READY=1" and self.ready_at is None:
                    self.ready_at = now
                elif line.startswith("STATUS="):
                    self.status.append((now, line[7:]))

    def wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while self.ready_at is None and time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"wsheartd exited with {self.proc.returncode}: {self.tail()}")
            time.sleep(0.002)
        if self.ready_at is None:
            raise RuntimeError("wsheartd sent no READY=1 within %s s" % timeout)
        return self.ready_at - self.started_at

    def tail(self, n=5):
        try:
            with open(self.log) as f:
                return " | ".join(f.read().splitlines()[-n:])
        except OSError:
            return ""

    def close(self):
        stop(self.proc)
        self._stop = True
        self._thread.join(1)
        self.sock.close()


def wait_open_count(bus, n, timeout):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            out = bus.busctl("get-property", "org.wsheartd1", "/org/wsheartd1", "org.wsheartd1.Manager",
                             "OpenCount", timeout=10)
            last = int(out.split()[1])
            if last >= n:
                return
        except (RuntimeError, ValueError, subprocess.TimeoutExpired):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"only {last} of {n} users open after {timeout} s")


class Subscriber:
    """wsheart-bench-sub; collects its stdout (READY, S lines, RESULT) in a thread."""

    def __init__(self, bins, bus, *args):
        self.proc = spawn([bins["sub"], "--address", bus.address, *args], stdout=subprocess.PIPE, text=True,
                          bufsize=1 << 20)
        self.states = []     # (mono_s, path, old, new, reason)
        self.result = None
        self.ready = threading.Event()
        self.lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        if not self.ready.wait(10):
            raise RuntimeError("wsheart-bench-sub did not get ready")

    def _read(self):
        for line in self.proc.stdout:
            if line.startswith("S "):
                parts = line.rstrip("\n").split(" ", 5)
                with self.lock:
                    self.states.append((int(parts[1]) / 1e9, parts[2], parts[3], parts[4], parts[5]))
            elif line.startswith("READY"):
                self.ready.set()
            elif line.startswith("RESULT "):
                self.result = json.loads(line[7:])

    def snapshot(self):
        with self.lock:
            return list(self.states)

    def wait_result(self, timeout):
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop(self.proc)
        self._thread.join(5)
        if self.result is None:
            raise RuntimeError("wsheart-bench-sub gave no RESULT")
        return self.result

    def finish(self):
        stop(self.proc)
        self._thread.join(5)
        return self.result


def managed_objects(bus):
    """{path: {interface: {prop: value}}} from GetManagedObjects (busctl --json)."""
    out = bus.busctl("--json=short", "call", "org.wsheartd1", "/org/wsheartd1",
                     "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", timeout=120)
    data = json.loads(out)["data"][0]
    result = {}
    for path, ifaces in data.items():
        result[path] = {i: {k: v["data"] for k, v in props.items()} for i, props in ifaces.items()}
    return result


# ---------------------------------------------------------------------------
# output

def table(title, header, rows, notes=()):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    print()
    print(title)
    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print(line(r))
    for n in notes:
        print(n)
    sys.stdout.flush()


def size_label(size):
    if size >= 1024 and size % 1024 == 0:
        return f"{size // 1024}KiB"
    return f"{size}B"


def count_label(count):
    return f"{count // 1000}k" if count >= 1000 and count % 1000 == 0 else str(count)


def verdict(ok):
    return "PASS" if ok else "FAIL"


def common_args(parser):
    parser.add_argument("--quick", action="store_true", help="small counts, for a smoke run (< 1 min in all)")
    parser.add_argument("--json", metavar="FILE", help="also write the measured figures as JSON here")


def dump_json(path, obj):
    if path:
        with open(path, "w") as f:
            json.dump(obj, f, indent=1)
