#!/usr/bin/python3
"""Chaos WebSocket server for the soak test (stdlib only).

Usage: chaos_server.py --record FILE [--port 0] [--seed N]

Serves any number of connections (path ...?u=<user>). Each connection sends
text messages "u=<user> c=<conn> i=<n>" at random intervals and, at random:
  drop    - stops sending, waits for the client's next heartbeat (proof that
            every earlier message was read), then resets the TCP connection;
  stall   - stops sending and answering (the client's heartbeat times out);
  close   - a close frame with a random code (1000, 1001, 1011, 1012, 4000).
Every few tens of seconds (--restart-every) the whole server "restarts":
every connection is closed with 1012, the listener is closed for 1-4 s
(connections are refused), then it listens again on the same port.

Every message written while its connection was open is appended to the
record file as "<user>\t<text>" (after it was handed to the kernel). Since a
reset only follows a heartbeat that came after the last message, every
recorded message must reach the bus.

stdin commands: "quiet" (stop chaos and messages, keep connections open and
answer heartbeats), "stats" (prints a JSON line). Prints "PORT <n>" on stdout.
"""
import argparse
import asyncio
import json
import os
import random
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from raw_ws import frame, read_frame, read_request, upgrade  # noqa: E402

STATS = {"connections": 0, "messages": 0, "drops": 0, "stalls": 0, "closes": 0, "restarts": 0,
         "heartbeats": 0}
QUIET = False
CONNS = set()


class Conn:
    counter = 0

    def __init__(self, reader, writer, user, rng, record):
        Conn.counter += 1
        self.id = Conn.counter
        self.reader, self.writer, self.user, self.rng, self.record = reader, writer, user, rng, record
        self.heartbeat = asyncio.Event()
        self.stalled = False
        self.closing = False
        self.n = 0
        self.last_send = 0.0

    async def reader_loop(self):
        try:
            while True:
                op, data = await read_frame(self.reader)
                if op == 0x8:
                    if not self.closing and not self.stalled:
                        self.closing = True
                        self.writer.write(frame(0x8, data[:2]))
                        await self.writer.drain()
                    return
                if self.stalled:
                    continue
                if op == 0x9:
                    self.writer.write(frame(0xA, data))
                elif op == 0x1 and data == b"HeartBeat":
                    STATS["heartbeats"] += 1
                    self.writer.write(frame(0x1, b"HeartBeat"))
                    self.heartbeat.set()
                await self.writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            return

    async def close(self, code):
        self.closing = True
        self.writer.write(frame(0x8, struct.pack("!H", code) + b"chaos"))
        await self.writer.drain()

    def reset(self):
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()

    async def chaos_loop(self, reader_task):
        while not reader_task.done():
            await asyncio.sleep(self.rng.uniform(0.05, 1.5))
            if reader_task.done() or self.closing:
                return
            if QUIET:
                continue
            roll = self.rng.random()
            if roll < 0.02:
                STATS["drops"] += 1
                # Proof that every message was read: a heartbeat the client
                # sent after it (it sends one only after heartbeat_interval of
                # silence, so one that arrives >= 0.5 s after our last
                # message did not cross it).
                await self.writer.drain()
                proven = False
                deadline = time.monotonic() + 30
                while not proven and time.monotonic() < deadline and not reader_task.done():
                    self.heartbeat.clear()
                    try:
                        await asyncio.wait_for(self.heartbeat.wait(), 5)
                    except asyncio.TimeoutError:
                        continue
                    proven = time.monotonic() - self.last_send >= 0.5
                if not proven:
                    continue  # keep the connection
                self.reset()
                return
            if roll < 0.04:
                STATS["stalls"] += 1
                self.stalled = True
                await reader_task
                return
            if roll < 0.06:
                STATS["closes"] += 1
                await self.close(self.rng.choice([1000, 1001, 1011, 1012, 4000]))
                return
            text = "u=%s c=%d i=%d" % (self.user, self.id, self.n)
            self.n += 1
            self.writer.write(frame(0x1, text.encode()))
            self.record.write("%s\t%s\n" % (self.user, text))
            STATS["messages"] += 1
            await self.writer.drain()
            self.last_send = time.monotonic()


class Server:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.record = open(args.record, "a", buffering=1)
        self.server = None
        self.port = args.port

    async def handle(self, reader, writer):
        conn = None
        try:
            path, headers = await read_request(reader)
            user = path.split("u=", 1)[1].split("&")[0] if "u=" in path else "?"
            await upgrade(writer, headers)
            STATS["connections"] += 1
            conn = Conn(reader, writer, user, random.Random(self.rng.random()), self.record)
            CONNS.add(conn)
            reader_task = asyncio.ensure_future(conn.reader_loop())
            await conn.chaos_loop(reader_task)
            await asyncio.wait_for(reader_task, 30)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, ConnectionError,
                OSError, IndexError, ValueError):
            pass
        finally:
            if conn is not None:
                CONNS.discard(conn)
            writer.transport.abort()

    async def listen(self):
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", self.port, reuse_address=True)
        self.port = self.server.sockets[0].getsockname()[1]

    async def restarts(self):
        while True:
            await asyncio.sleep(self.rng.uniform(0.5, 1.5) * self.args.restart_every)
            if QUIET:
                continue
            STATS["restarts"] += 1
            self.server.close()
            for conn in list(CONNS):
                if not conn.closing and not conn.stalled:
                    try:
                        await conn.close(1012)
                    except OSError:
                        pass
            await asyncio.sleep(self.rng.uniform(1, 4))
            await self.listen()

    async def commands(self):
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        global QUIET
        while True:
            line = await reader.readline()
            if not line:
                return
            cmd = line.decode().strip()
            if cmd == "quiet":
                QUIET = True
                print("OK quiet", flush=True)
            elif cmd == "stats":
                print(json.dumps(dict(STATS, open=len(CONNS))), flush=True)

    async def run(self):
        await self.listen()
        print("PORT", self.port, flush=True)
        commands = asyncio.ensure_future(self.commands())  # keep a reference: tasks are weakly held
        await self.restarts()
        await commands


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--record", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--restart-every", type=float, default=60.0)
    try:
        asyncio.run(Server(ap.parse_args()).run())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
