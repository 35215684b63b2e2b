#!/usr/bin/python3
"""Fault-injecting TCP proxy for wsheartd tests and demos (stdlib only).

    fault_proxy.py --target HOST:PORT [--listen-host 127.0.0.1] [--listen-port 0]

Prints "PORT <n>" on stdout once listening, then forwards TCP both ways.
Commands on stdin, one per line; each is acknowledged with "OK <command>" on
stdout once it has taken effect:

  blackhole  stop forwarding in both directions; every socket stays open and
             incoming bytes are discarded (a silently dead path / half-open
             connection). New connections are accepted and blackholed too
             (their upstream connection is only made once forwarding resumes).
             EOF/errors from either side are not passed on while blackholed.
  forward    resume forwarding for new and existing connections; bytes that
             arrived during the blackhole are gone; closes that happened
             during the blackhole are passed on now.
  reset      close every current connection (both sides) with RST
  refuse     close new connections immediately (with RST)
  accept     undo refuse
  count      print "CONNECTIONS <n>" (client connections currently open),
             then "OK count"

Exits on stdin EOF, SIGTERM or SIGINT. Run it with /usr/bin/python3.
"""

import argparse
import asyncio
import signal
import socket
import struct
import sys

CHUNK = 65536


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def log(line):
    sys.stderr.write("fault_proxy: " + line + "\n")
    sys.stderr.flush()


def abort_with_rst(writer):
    """Close a stream with RST (SO_LINGER 0) instead of FIN."""
    if writer is None:
        return
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()


class Side:
    def __init__(self, name, reader=None, writer=None):
        self.name = name
        self.reader = reader
        self.writer = writer
        self.eof = False  # peer sent FIN
        self.dead = False  # error / reset / closed by us
        self.eof_passed = False  # FIN passed on to the other side

    @property
    def finished(self):
        return self.eof or self.dead


class Connection:
    def __init__(self, proxy, reader, writer, conn_id):
        self.proxy = proxy
        self.id = conn_id
        self.client = Side("client", reader, writer)
        self.upstream = Side("upstream")
        self.pending = bytearray()  # client bytes while the upstream connects
        self.tasks = []
        self.closed = False

    def other(self, side):
        return self.upstream if side is self.client else self.client

    async def start(self):
        self.tasks.append(asyncio.ensure_future(self.pump(self.client)))
        await self.proxy.forwarding.wait()
        if self.closed or self.client.finished:
            self.settle()
            return
        try:
            host, port = self.proxy.target
            r, w = await asyncio.open_connection(host, port)
        except OSError as e:
            log(f"#{self.id} upstream connect failed: {e}")
            self.close(rst=True)
            return
        if self.closed:
            w.transport.abort()
            return
        self.upstream.reader, self.upstream.writer = r, w
        if self.pending and self.proxy.forwarding.is_set():
            w.write(bytes(self.pending))
        self.pending.clear()
        self.tasks.append(asyncio.ensure_future(self.pump(self.upstream)))
        self.settle()

    async def pump(self, src):
        dst = self.other(src)
        try:
            while True:
                data = await src.reader.read(CHUNK)
                if not data:
                    src.eof = True
                    break
                if not self.proxy.forwarding.is_set():
                    continue  # blackhole: discard
                if dst.writer is None:
                    self.pending += data  # upstream still connecting
                    continue
                if dst.finished:
                    continue
                dst.writer.write(data)
                await dst.writer.drain()
        except (ConnectionError, OSError):
            src.dead = True
        except asyncio.CancelledError:
            return
        self.settle()

    def settle(self):
        """Pass on EOFs/errors (unless blackholed); close when both sides are done."""
        if self.closed or not self.proxy.forwarding.is_set():
            return
        for src in (self.client, self.upstream):
            dst = self.other(src)
            if src.dead:
                self.close(rst=True)
                return
            if src.eof and not src.eof_passed:
                src.eof_passed = True
                if dst.writer is not None and not dst.finished:
                    try:
                        if dst.writer.can_write_eof():
                            dst.writer.write_eof()
                    except (ConnectionError, OSError, RuntimeError):
                        pass
        if self.client.finished and (self.upstream.finished or self.upstream.writer is None):
            self.close(rst=False)

    def close(self, rst):
        if self.closed:
            return
        self.closed = True
        for side in (self.client, self.upstream):
            if side.writer is None:
                continue
            if rst:
                abort_with_rst(side.writer)
            else:
                side.writer.close()
        for task in self.tasks:
            if task is not asyncio.current_task():
                task.cancel()
        self.proxy.connections.discard(self)
        log(f"#{self.id} closed" + (" (RST)" if rst else ""))


class Proxy:
    def __init__(self, target):
        self.target = target
        self.connections = set()
        self.forwarding = asyncio.Event()
        self.forwarding.set()
        self.refusing = False
        self.next_id = 0

    async def on_client(self, reader, writer):
        self.next_id += 1
        if self.refusing:
            log(f"#{self.next_id} refused")
            abort_with_rst(writer)
            return
        conn = Connection(self, reader, writer, self.next_id)
        self.connections.add(conn)
        log(f"#{conn.id} accepted" + ("" if self.forwarding.is_set() else " (blackholed)"))
        await conn.start()

    def command(self, cmd):
        if cmd == "blackhole":
            self.forwarding.clear()
        elif cmd == "forward":
            self.forwarding.set()
            for conn in list(self.connections):
                conn.settle()
        elif cmd == "reset":
            for conn in list(self.connections):
                conn.close(rst=True)
        elif cmd == "refuse":
            self.refusing = True
        elif cmd == "accept":
            self.refusing = False
        elif cmd == "count":
            n = sum(1 for c in self.connections if not c.closed and not c.client.finished)
            out(f"CONNECTIONS {n}")
        else:
            out(f"ERR unknown command {cmd}")
            return
        out(f"OK {cmd}")


async def read_commands(proxy, stop):
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            break
        cmd = line.decode(errors="replace").strip()
        if cmd:
            proxy.command(cmd)
    stop.set()


async def main():
    parser = argparse.ArgumentParser(description="fault-injecting TCP proxy")
    parser.add_argument("--target", required=True, help="HOST:PORT to forward to")
    parser.add_argument("--listen-host", default="127.0.0.1")
    parser.add_argument("--listen-port", type=int, default=0)
    args = parser.parse_args()
    host, _, port = args.target.rpartition(":")
    proxy = Proxy((host or "127.0.0.1", int(port)))

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    server = await asyncio.start_server(proxy.on_client, args.listen_host, args.listen_port)
    out(f"PORT {server.sockets[0].getsockname()[1]}")
    commands = asyncio.ensure_future(read_commands(proxy, stop))
    await stop.wait()
    commands.cancel()
    server.close()
    for conn in list(proxy.connections):
        conn.close(rst=False)
    await asyncio.sleep(0)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
