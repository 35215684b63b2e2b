#!/usr/bin/python3
"""Third-party WebSocket peer for interop tests: Python `websockets` (Debian's
python3-websockets 10.4, legacy asyncio API). Run it with /usr/bin/python3;
a pyenv python3 first on PATH may not have `websockets`.

    py_ws_server.py [--host 127.0.0.1] [--port 0]

Prints "PORT <n>" on stdout once listening (logs go to stderr).
Text "HeartBeat" -> "HeartBeat"; "echo:TEXT" -> TEXT; "binary:N" -> one
binary frame of N bytes (0..255 repeating); "close:CODE" -> close with CODE
(reason "requested"); anything else -> no reply. Pings are answered by the
library. Exits on SIGTERM/SIGINT.
"""

import argparse
import asyncio
import signal
import sys

import websockets


def log(line):
    sys.stderr.write("py_ws_server: " + line + "\n")
    sys.stderr.flush()


async def handler(ws, path):
    log(f"open {path} from {ws.remote_address}")
    try:
        async for msg in ws:
            if isinstance(msg, bytes):
                continue
            if msg == "HeartBeat":
                await ws.send("HeartBeat")
            elif msg.startswith("echo:"):
                await ws.send(msg[5:])
            elif msg.startswith("binary:"):
                try:
                    n = int(msg[7:])
                except ValueError:
                    continue
                await ws.send(bytes(i & 0xFF for i in range(n)))
            elif msg.startswith("close:"):
                try:
                    code = int(msg[6:])
                except ValueError:
                    continue
                await ws.close(code=code, reason="requested")
    except websockets.ConnectionClosed:
        pass
    log(f"close {path} code={ws.close_code}")


async def main():
    parser = argparse.ArgumentParser(description="python websockets interop peer")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()

    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))

    async with websockets.serve(handler, args.host, args.port, max_size=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        sys.stdout.write(f"PORT {port}\n")
        sys.stdout.flush()
        await stop


if __name__ == "__main__":
    asyncio.run(main())
