#!/usr/bin/python3
"""A misbehaving WebSocket server for fault-injection tests (stdlib only).

Usage: bad_server.py [--host 127.0.0.1] [--port 0]

Prints "PORT <n>" on stdout once listening; one line per event on stderr.
The behaviour is chosen per connection by the request path, so one server
can play several parts:

  /echo                 a normal server: "HeartBeat" -> "HeartBeat", "echo:X" -> "X"
  /never-upgrade        read the request, never answer (-> connect_timeout)
  /stall                upgrade, then read and discard everything, answer nothing
  /garbage              answer the upgrade request with 1 MiB of binary noise
                        that never ends a header, keep the socket open
  /garbage-lines        answer with a complete header block that is not HTTP
  /truncated            upgrade, send the first bytes of a text frame, then FIN
  /bad-utf8             upgrade, send a text frame that is not UTF-8
  /ping-flood/N         upgrade, send N pings as fast as the socket takes them,
                        then the text "flood-done"; behaves like /echo meanwhile.
                        Until all N pongs are read, also a "k<i>" ping at least
                        every 20 ms (see Peer.keepalive)
  /huge-header          upgrade, send the header of a 100 MiB text frame, then
                        payload bytes until the client goes away
  /close/CODE           upgrade, send a close frame with CODE and reason "bye"
  /close-hold           the first connection: upgrade, send a close frame (1001),
                        log the client's close ("client-close <code>"), then hold
                        the socket open without a reply until the client gives
                        up; later connections behave like /echo. Every text
                        frame on any /close-hold connection is logged as
                        "text <payload>"
  /burst/N/SIZE         upgrade, send N text frames "burst <i> <padding>" of SIZE
                        bytes, then log "burst-done N" once the kernel took them all;
                        behaves like /echo meanwhile

Commands on stdin, one per line:
  burst N SIZE          every /echo connection gets N text frames of SIZE bytes
                        ("burst <i> " + padding); "burst-done N" is logged when
                        the kernel took them all (a client that stops reading
                        stalls it)

Events on stderr: "open <path>", "client-close <code>", "pongs <n>",
"burst-done <n>", "text <payload>" (/close-hold), "closed <path>".
"""
import argparse
import asyncio
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "support"))
from raw_ws import frame, read_frame, read_request, upgrade  # noqa: E402


def log(*parts):
    print(*parts, file=sys.stderr, flush=True)


class Peer:
    """Answers like a normal server; counts pongs; logs the client's close."""

    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer
        self.pongs = 0
        # ping-flood: the client's HeartBeat reaches us only after every pong
        # it sent before, and on a busy machine reading 20,000 pongs here can
        # take longer than the client's heartbeat timeout. Like a server that
        # is alive but busy, we keep pinging ("k<i>", pongs not counted) at
        # least every KEEPALIVE seconds until all flood pongs are read, from
        # the read loop itself so a long stretch of buffered pongs cannot
        # starve it. A client that did not take pings as proof of life would
        # still time out.
        self.log_texts = False
        self.keepalive_until = None  # flood pong count to keep alive for
        self.keepalives = 0
        self.last_keepalive = 0.0

    KEEPALIVE = 0.02

    def keepalive(self):
        if self.keepalive_until is None or self.pongs >= self.keepalive_until:
            return
        now = asyncio.get_running_loop().time()
        if now - self.last_keepalive >= self.KEEPALIVE:
            self.last_keepalive = now
            self.keepalives += 1
            self.writer.write(frame(0x9, b"k%d" % self.keepalives))

    async def serve(self):
        try:
            while True:
                op, data = await read_frame(self.reader)
                if op == 0x8:
                    code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else 1005
                    log("client-close", code)
                    try:
                        self.writer.write(frame(0x8, data[:2]))
                        await self.writer.drain()
                    except OSError:
                        pass
                    return
                if op == 0x9:
                    self.writer.write(frame(0xA, data))
                elif op == 0xA:
                    if not data.startswith(b"k"):
                        self.pongs += 1
                elif op == 0x1:
                    text = data.decode("utf-8", "replace")
                    if self.log_texts:
                        log("text", text)
                    if text == "HeartBeat":
                        self.writer.write(frame(0x1, b"HeartBeat"))
                    elif text.startswith("echo:"):
                        self.writer.write(frame(0x1, data[5:]))
                self.keepalive()
                await self.writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            return


ECHO_PEERS = set()
CLOSE_HELD = []  # the /close-hold connection that got the close frame
TASKS = set()  # strong references: asyncio only keeps weak ones to running tasks


def spawn(coro):
    task = asyncio.ensure_future(coro)
    TASKS.add(task)
    task.add_done_callback(TASKS.discard)
    return task


async def burst(writer, count, size):
    for i in range(count):
        text = b"burst %d " % i
        writer.write(frame(0x1, text + b"x" * max(0, size - len(text))))
        if i % 64 == 0:
            await writer.drain()
    await writer.drain()
    log("burst-done", count)


async def commands():
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            return
        words = line.decode().split()
        if len(words) == 3 and words[0] == "burst":
            for peer in list(ECHO_PEERS):
                spawn(burst(peer.writer, int(words[1]), int(words[2])))
            log("burst-started", len(ECHO_PEERS))


async def handle(reader, writer):
    path = "?"
    try:
        path, headers = await read_request(reader)
        parts = [p for p in path.split("?")[0].split("/") if p]
        mode = parts[0] if parts else "echo"
        log("open", path)
        if mode == "never-upgrade":
            await reader.read()  # until the client gives up
            return
        if mode == "garbage":
            # Binary noise that never ends a header ("\r\n\r\n"), 1 MiB of it.
            noise = bytes(b for b in range(256) if b not in (10, 13)) * 64
            sent = 0
            while sent < 1024 * 1024:
                writer.write(noise)
                sent += len(noise)
                await writer.drain()
                await asyncio.sleep(0.005)
            log("garbage-sent", sent)
            await reader.read()
            return
        if mode == "garbage-lines":
            # A complete "response" that is not HTTP.
            writer.write(b"SSH-2.0-OpenSSH_9.2\r\nthis is not http\r\n\r\n")
            await writer.drain()
            await reader.read()
            return
        await upgrade(writer, headers)
        peer = Peer(reader, writer)
        if mode == "stall":
            while await reader.read(65536):
                pass
            return
        if mode == "truncated":
            writer.write(b"\x81\x7e\x01\x00" + b"x" * 10)  # announces 256 bytes, sends 10
            await writer.drain()
            writer.write_eof()
            await reader.read()
            return
        if mode == "bad-utf8":
            writer.write(frame(0x1, b"ok \xff\xfe\xc3("))
            await writer.drain()
            await peer.serve()
            return
        if mode == "huge-header":
            writer.write(b"\x81\x7f" + struct.pack("!Q", 100 * 1024 * 1024))
            task = asyncio.ensure_future(peer.serve())
            sent = 0
            while not task.done() and sent < 100 * 1024 * 1024:
                writer.write(b"z" * 65536)
                sent += 65536
                await writer.drain()
                await asyncio.sleep(0.001)
            log("huge-sent", sent)
            await task
            return
        if mode == "close":
            code = int(parts[1]) if len(parts) > 1 else 1000
            writer.write(frame(0x8, struct.pack("!H", code) + b"bye"))
            await writer.drain()
            await peer.serve()
            return
        if mode == "close-hold":
            peer.log_texts = True
            if not CLOSE_HELD:
                CLOSE_HELD.append(peer)
                writer.write(frame(0x8, struct.pack("!H", 1001) + b"bye"))
                await writer.drain()
                while True:
                    op, data = await read_frame(reader)
                    if op == 0x8:
                        log("client-close", struct.unpack("!H", data[:2])[0] if len(data) >= 2 else 1005)
                    elif op == 0x1:
                        log("text", data.decode("utf-8", "replace"))
            await peer.serve()
            return
        if mode == "ping-flood":
            count = int(parts[1]) if len(parts) > 1 else 10000
            peer.keepalive_until = count
            task = asyncio.ensure_future(peer.serve())
            for i in range(count):
                writer.write(frame(0x9, b"p%d" % i))
                if i % 256 == 0:
                    await writer.drain()
            writer.write(frame(0x1, b"flood-done"))
            await writer.drain()
            log("flood-sent", count)
            # The client answers every ping; report how many pongs came back.
            # Meanwhile keep pinging, also when no pong is waiting to be read.
            for _ in range(1000):
                if peer.pongs >= count or task.done():
                    break
                peer.keepalive()
                await asyncio.sleep(0.01)
            log("pongs", peer.pongs)
            await task
            return
        if mode == "burst":
            count = int(parts[1]) if len(parts) > 1 else 1000
            size = int(parts[2]) if len(parts) > 2 else 64
            task = asyncio.ensure_future(peer.serve())
            await burst(writer, count, size)
            await task
            return
        ECHO_PEERS.add(peer)
        try:
            await peer.serve()
        finally:
            ECHO_PEERS.discard(peer)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, OSError, ValueError):
        pass
    finally:
        log("closed", path)
        try:
            writer.close()
        except OSError:
            pass


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    server = await asyncio.start_server(handle, args.host, args.port)
    print("PORT", server.sockets[0].getsockname()[1], flush=True)
    spawn(commands())
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
