"""Both ends of the host fault tests, run inside a network namespace (``ip netns exec NS python netns_peer.py``).

serve PORT                      TCP echo (every connection) until killed
udp-sink PORT SECONDS           count UDP datagrams for SECONDS, print the count
rtt HOST PORT COUNT TIMEOUT     COUNT one-byte round trips on one connection: JSON list of ms, or {"error"}
bulk HOST PORT BYTES TIMEOUT    send BYTES, read them echoed back: JSON {"seconds"} or {"error", "after"}
udp-send HOST PORT COUNT        send COUNT datagrams, 1 ms apart
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time


def serve(port: int) -> None:
    server = socket.create_server(("0.0.0.0", port), reuse_port=True)  # noqa: S104 - inside its own namespace
    print("ready", flush=True)

    def echo(conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while data := conn.recv(65536):
                conn.sendall(data)
        except OSError:
            pass
        conn.close()

    while True:
        threading.Thread(target=echo, args=(server.accept()[0],), daemon=True).start()


def udp_sink(port: int, seconds: float) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", port))  # noqa: S104
    print("ready", flush=True)
    sock.settimeout(0.2)
    count, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            sock.recv(2048)
            count += 1
        except TimeoutError:
            pass
    print(count, flush=True)


def rtt(host: str, port: int, count: int, timeout: float) -> object:
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        times = []
        for _ in range(count):
            t0 = time.monotonic()
            sock.sendall(b"x")
            if sock.recv(1) != b"x":
                return {"error": "closed"}
            times.append((time.monotonic() - t0) * 1000)
        return times
    except OSError as exc:
        return {"error": type(exc).__name__}


def bulk(host: str, port: int, size: int, timeout: float) -> object:
    t0 = time.monotonic()
    got = 0
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
        sender = threading.Thread(target=lambda: (sock.sendall(b"\0" * size), sock.shutdown(socket.SHUT_WR)),
                                  daemon=True)
        sender.start()
        while got < size:
            data = sock.recv(65536)
            if not data:
                return {"error": "closed", "after": got, "seconds": time.monotonic() - t0}
            got += len(data)
        return {"seconds": time.monotonic() - t0}
    except OSError as exc:
        return {"error": type(exc).__name__, "after": got, "seconds": time.monotonic() - t0}


def udp_send(host: str, port: int, count: int) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(count):
        try:
            sock.sendto(b"p" * 64, (host, port))
        except PermissionError:  # a DROP on the way out answers the sender EPERM: the datagram is lost
            pass
        time.sleep(0.001)


if __name__ == "__main__":
    cmd, *rest = sys.argv[1:]
    if cmd == "serve":
        serve(int(rest[0]))
    elif cmd == "udp-sink":
        udp_sink(int(rest[0]), float(rest[1]))
    elif cmd == "udp-send":
        udp_send(rest[0], int(rest[1]), int(rest[2]))
    else:
        fn = {"rtt": rtt, "bulk": bulk}[cmd]
        print(json.dumps(fn(rest[0], int(rest[1]), int(rest[2]), float(rest[3]))), flush=True)
