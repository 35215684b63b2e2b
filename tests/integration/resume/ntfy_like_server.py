#!/usr/bin/python3
"""A WebSocket server that resumes like ntfy, for the resume tests.

    ntfy_like_server.py --store FILE [--port N] [--mode url|header|join] [--inclusive]

It keeps every published message, with an id, in FILE (so a restarted
server still has them) and replays on connect whatever comes after the
client's cursor:
  url     ?since=<id> on the upgrade URL (ntfy);
  header  the Last-Event-ID header (SSE style);
  join    the first text frame, {"topic": ..., "last_seen_id": <id or null>} (Phoenix style).
No cursor: no replay. --inclusive replays the cursor's own message too (an
overlap the client must drop). Every connection first gets
{"event":"open","id":"open-N"} (which cursor_if must ignore).

stdin, one command a line:
  publish TEXT    store {"id":"mNNNN","event":"message","message":TEXT} and send it to every client
  keepalive       send {"event":"keepalive","id":"k-N"} (not stored)
  raw TEXT        send TEXT as is (not stored)
  drop            close every client connection abruptly (the server goes on)
stdout: "PORT n" once listening; "CONNECT <json>" per upgrade (path, headers),
"FIRST <json>" with the first text frame of a connection, "OK <command>"
after each command. Messages are sent in id order; a replay is sent before
any newer message. Exits on SIGTERM/SIGINT/EOF.
"""

import argparse
import asyncio
import json
import os
import signal
import sys
import urllib.parse

import websockets


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Store:
    def __init__(self, path):
        self.path = path
        self.messages = []
        if os.path.exists(path):
            with open(path) as f:
                self.messages = [json.loads(l) for l in f if l.strip()]

    def add(self, text):
        msg = {"id": "m%04d" % (len(self.messages) + 1), "event": "message", "message": text}
        self.messages.append(msg)
        with open(self.path, "a") as f:
            f.write(json.dumps(msg) + "\n")
            f.flush()
            os.fsync(f.fileno())
        return msg

    def after(self, cursor, inclusive):
        if cursor is None:
            return []
        for i, m in enumerate(self.messages):
            if m["id"] == cursor:
                return self.messages[i:] if inclusive else self.messages[i + 1:]
        return list(self.messages)  # unknown cursor: everything, as ntfy does for since=all


class Server:
    def __init__(self, args):
        self.args = args
        self.store = Store(args.store)
        self.clients = set()
        self.opens = 0
        self.keepalives = 0

    async def handler(self, ws, path):
        self.opens += 1
        headers = {k: v for k, v in ws.request_headers.raw_items()}
        out("CONNECT " + json.dumps({"path": path, "headers": headers}))
        await ws.send(json.dumps({"event": "open", "id": "open-%d" % self.opens}))
        cursor = None
        first_seen = False
        if self.args.mode == "url":
            query = urllib.parse.parse_qs(urllib.parse.urlparse(path).query)
            cursor = query.get("since", [None])[0]
        elif self.args.mode == "header":
            cursor = ws.request_headers.get("Last-Event-ID")
        else:
            first = await ws.recv()
            first_seen = True
            out("FIRST " + json.dumps(first))
            try:
                cursor = json.loads(first).get("last_seen_id")
            except ValueError:
                cursor = None
        # Replay until caught up, then join the broadcast set with no await in
        # between, so that a message published meanwhile is neither lost nor
        # sent out of order.
        backlog = self.store.after(cursor, self.args.inclusive)
        while backlog:
            for m in backlog:
                await ws.send(json.dumps(m))
            backlog = self.store.after(backlog[-1]["id"], False)
        self.clients.add(ws)
        try:
            async for msg in ws:
                if not first_seen and isinstance(msg, str):
                    first_seen = True
                    out("FIRST " + json.dumps(msg))
        except websockets.ConnectionClosed:
            pass
        finally:
            self.clients.discard(ws)

    async def broadcast(self, text):
        for ws in list(self.clients):
            try:
                await ws.send(text)
            except websockets.ConnectionClosed:
                pass

    async def command(self, line):
        verb, _, rest = line.partition(" ")
        if verb == "publish":
            await self.broadcast(json.dumps(self.store.add(rest)))
        elif verb == "keepalive":
            self.keepalives += 1
            await self.broadcast(json.dumps({"event": "keepalive", "id": "k-%d" % self.keepalives}))
        elif verb == "raw":
            await self.broadcast(rest)
        elif verb == "drop":
            for ws in list(self.clients):
                ws.transport.abort()
        out("OK " + line)


async def main():
    parser = argparse.ArgumentParser(description="ntfy-like resuming WebSocket server")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--store", required=True)
    parser.add_argument("--mode", choices=["url", "header", "join"], default="url")
    parser.add_argument("--inclusive", action="store_true")
    args = parser.parse_args()
    server = Server(args)
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    async with websockets.serve(server.handler, "127.0.0.1", args.port) as ws_server:
        port = ws_server.sockets[0].getsockname()[1]
        out("PORT %d" % port)
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while not stop.done():
            line_task = asyncio.ensure_future(reader.readline())
            done, _ = await asyncio.wait({line_task, stop}, return_when=asyncio.FIRST_COMPLETED)
            if line_task not in done:
                line_task.cancel()
                break
            line = line_task.result()
            if not line:
                break
            await server.command(line.decode().rstrip("\n"))


if __name__ == "__main__":
    asyncio.run(main())
