#!/usr/bin/python3
"""A WebSocket server that shows what the client sent, for tests of the
request's exact bytes:

    recording_ws_server.py [--host 127.0.0.1] [--tls-cert CERT --tls-key KEY] [--proxy]

Prints "PORT <n>" on stdout once listening. For each connection it prints,
with --proxy, "HEAD <repr>" for the CONNECT request and answers 200, then
goes on as the server inside that tunnel (whatever address CONNECT named);
with TLS, "SNI <repr>": the server name the ClientHello asked for (None: no
server_name extension); then "HEAD <repr>" for the upgrade request. A head
is everything up to the blank line, as a Python bytes literal, exactly as
received. Each line is flushed before the answer is sent, so a client that
sees the connection open can read it. The connection is then held until the
client closes it; frames are ignored. Exits on SIGTERM.
"""

import argparse
import base64
import hashlib
import re
import socket
import ssl
import sys
import threading

WEBSOCKET_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def report(*fields):
    print(*fields, flush=True)


def read_head(conn):
    """The request head, reported; None if the client closed first. A client
    sends nothing after its head before it has the answer."""
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        head += chunk
    report("HEAD", repr(head))
    return head


def serve(conn, tls, proxy):
    try:
        if proxy:
            if read_head(conn) is None:
                return
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        if tls is not None:
            conn = tls.wrap_socket(conn, server_side=True)
        head = read_head(conn)
        if head is None:
            return
        key = re.search(rb"\r\nsec-websocket-key:[ \t]*([^\r]*?)[ \t]*\r\n", head, re.IGNORECASE)
        if key is None:
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            return
        accept = base64.b64encode(hashlib.sha1(key.group(1) + WEBSOCKET_GUID).digest())
        conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        while conn.recv(65536):
            pass
    except OSError as e:  # ssl.SSLError too
        sys.stderr.write(f"recording_ws_server: {e}\n")
    finally:
        conn.close()


def main():
    parser = argparse.ArgumentParser(description="records WebSocket upgrade requests")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--proxy", action="store_true", help="answer CONNECT first, as a proxy")
    args = parser.parse_args()

    tls = None
    if args.tls_cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.tls_cert, args.tls_key)
        tls.sni_callback = lambda _sock, name, _ctx: report("SNI", repr(name))

    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    listener = socket.create_server((args.host, 0), family=family)
    report("PORT", listener.getsockname()[1])
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn, tls, args.proxy), daemon=True).start()


if __name__ == "__main__":
    main()
