#!/usr/bin/python3
"""Scripted WebSocket client for peers_test (python3-websockets 10.4).

    ws_client.py URL [--cafile F] [--header NAME:VALUE]... [--open-timeout S] STEP...

Prints "OPEN" once connected (or "CONNECT_FAILED <exception> [<status>]"),
then runs the steps in order, one output line each (flushed):
  send:TEXT        send a text frame (no output)
  sendbin:N        send N bytes 0..255 repeating as binary (no output)
  recv[:S]         "TEXT <payload>" (payloads > 1000 chars: "TEXT_LEN <n> <distinct chars>")
                   or "BINARY <n> pattern|other"; "TIMEOUT"; "CLOSED <code> <reason>|<cause>"
  burst:N:SIZE     send burst:N:SIZE, receive N messages:
                   "BURST <n> sizes_ok=0|1 seq_ok=0|1 t_ok=0|1"
  silent:S         "SILENT" if nothing arrives within S seconds, else "GOT ..."
  ping:S           "PONG" or "NOPONG" (no pong within S seconds)
  closed:S         wait up to S seconds for the close: "CLOSED <code> <reason>|<cause>"
  sleep:S          sleep
"""

import argparse
import asyncio
import ssl
import sys

import websockets


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def describe_close(e):
    cause = type(e.__cause__).__name__ if e.__cause__ is not None else ""
    code = e.rcvd.code if e.rcvd is not None else 1006
    reason = e.rcvd.reason if e.rcvd is not None else ""
    return f"CLOSED {code} {reason}|{cause}"


def describe(msg):
    if isinstance(msg, bytes):
        ok = all(b == (i & 0xFF) for i, b in enumerate(msg))
        return f"BINARY {len(msg)} {'pattern' if ok else 'other'}"
    if len(msg) > 1000:
        return f"TEXT_LEN {len(msg)} {''.join(sorted(set(msg)))}"
    return f"TEXT {msg}"


async def recv(ws, timeout):
    try:
        return describe(await asyncio.wait_for(ws.recv(), timeout))
    except asyncio.TimeoutError:
        return "TIMEOUT"
    except websockets.ConnectionClosed as e:
        return describe_close(e)


async def burst(ws, n, size):
    await ws.send(f"burst:{n}:{size}")
    sizes_ok = seq_ok = t_ok = True
    last_t = 0
    for i in range(n):
        msg = await asyncio.wait_for(ws.recv(), 30)
        head = f"seq={i} t="
        if not msg.startswith(head):
            seq_ok = False
        fields = msg.split(" ")
        t = int(fields[1][2:]) if len(fields) > 1 and fields[1].startswith("t=") else -1
        if t < last_t:
            t_ok = False
        last_t = t
        header_len = len(f"seq={i} t={t} ")
        if len(msg) != max(size, header_len) or msg[header_len:] != "x" * (len(msg) - header_len):
            sizes_ok = False
    return f"BURST {n} sizes_ok={int(sizes_ok)} seq_ok={int(seq_ok)} t_ok={int(t_ok)}"


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--cafile")
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--open-timeout", type=float, default=5)
    parser.add_argument("steps", nargs="*")
    args = parser.parse_intermixed_args()

    kwargs = dict(ping_interval=None, close_timeout=1, max_size=None, open_timeout=args.open_timeout)
    if args.cafile:
        kwargs["ssl"] = ssl.create_default_context(cafile=args.cafile)
    if args.header:
        kwargs["extra_headers"] = [tuple(h.split(":", 1)) for h in args.header]
    try:
        ws = await websockets.connect(args.url, **kwargs)
    except Exception as e:  # noqa: BLE001 - report whatever the failure is
        status = getattr(e, "status_code", "")
        out(f"CONNECT_FAILED {type(e).__name__} {status}".rstrip())
        return
    out("OPEN")
    for step in args.steps:
        verb, _, arg = step.partition(":")
        if verb == "send":
            await ws.send(arg)
        elif verb == "sendbin":
            await ws.send(bytes(i & 0xFF for i in range(int(arg))))
        elif verb == "recv":
            out(await recv(ws, float(arg or 10)))
        elif verb == "burst":
            n, size = arg.split(":")
            out(await burst(ws, int(n), int(size)))
        elif verb == "silent":
            got = await recv(ws, float(arg))
            out("SILENT" if got == "TIMEOUT" else "GOT " + got)
        elif verb == "ping":
            try:
                waiter = await ws.ping()
                await asyncio.wait_for(waiter, float(arg))
                out("PONG")
            except asyncio.TimeoutError:
                out("NOPONG")
            except websockets.ConnectionClosed as e:
                out(describe_close(e))
        elif verb == "closed":
            try:
                await asyncio.wait_for(ws.wait_closed(), float(arg))
            except asyncio.TimeoutError:
                out("NOT_CLOSED")
                continue
            try:
                await ws.recv()
            except websockets.ConnectionClosed as e:
                out(describe_close(e))
        elif verb == "sleep":
            await asyncio.sleep(float(arg))
        else:
            out(f"BAD_STEP {step}")
    ws.transport.abort()


if __name__ == "__main__":
    asyncio.run(main())
