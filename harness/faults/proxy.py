"""A TCP proxy that adds latency with jitter: the delay mechanism on kernels without netem.

Run as a script (standard library only): ``python proxy.py --listen ADDR --rtt-ms R --jitter-ms J``.
It binds a free port, prints it on one line and serves until killed. Connections reach it through
an iptables REDIRECT; it reads their original destination (SO_ORIGINAL_DST) and connects there with
a firewall mark the redirect rule skips. Each direction holds every chunk for RTT/2 ± J/2 and keeps
the byte order (a chunk never overtakes the previous one), as a TCP stream would see it; a new
connection waits one RTT before its upstream connect, as the handshake would.

Not modelled: the window limit (throughput is not capped by bandwidth × delay; add a rate fault).
"""

from __future__ import annotations

import argparse
import queue
import random
import socket
import struct
import sys
import threading
import time

SO_ORIGINAL_DST = 80  # linux/netfilter_ipv4.h
CONNECT_TIMEOUT_S = 10.0
CHUNK = 65536


def original_destination(conn: socket.socket) -> tuple[str, int]:
    raw = conn.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
    port, packed = struct.unpack_from("!2xH4s", raw)
    return socket.inet_ntoa(packed), port


class Delay:
    """One direction's release times: now + one-way delay ± jitter, never before the previous chunk's."""

    def __init__(self, one_way_s: float, jitter_s: float) -> None:
        self.one_way_s, self.jitter_s = one_way_s, jitter_s
        self.last = 0.0

    def release_at(self, now: float) -> float:
        self.last = max(self.last, now + self.one_way_s + random.uniform(-self.jitter_s, self.jitter_s))
        return self.last


def pipe(src: socket.socket, dst: socket.socket, delay: Delay) -> None:
    held: queue.Queue[tuple[float, bytes]] = queue.Queue()

    def send() -> None:
        try:
            while True:
                at, data = held.get()
                time.sleep(max(0.0, at - time.monotonic()))
                if not data:
                    dst.shutdown(socket.SHUT_WR)
                    return
                dst.sendall(data)
        except OSError:
            for sock in (src, dst):
                sock.close()

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        while data := src.recv(CHUNK):
            held.put((delay.release_at(time.monotonic()), data))
    except OSError:
        pass
    held.put((delay.release_at(time.monotonic()), b""))


def serve(conn: socket.socket, own: tuple[str, int], args: argparse.Namespace) -> None:
    try:
        dest = original_destination(conn)
        if dest[1] == own[1] and dest[0] in (own[0], "0.0.0.0", "127.0.0.1"):
            conn.close()  # reached directly, not through a redirect: nowhere to forward to
            return
        time.sleep(args.rtt_ms / 1000)  # the handshake's round trip
        upstream = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        upstream.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, args.mark)
        upstream.settimeout(CONNECT_TIMEOUT_S)
        upstream.connect(dest)
        upstream.settimeout(None)
    except OSError:
        conn.close()
        return
    for sock in (conn, upstream):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    one_way, jitter = args.rtt_ms / 2000, args.jitter_ms / 2000
    threading.Thread(target=pipe, args=(upstream, conn, Delay(one_way, jitter)), daemon=True).start()
    pipe(conn, upstream, Delay(one_way, jitter))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="127.0.0.1")
    parser.add_argument("--rtt-ms", type=float, required=True)
    parser.add_argument("--jitter-ms", type=float, default=0.0)
    parser.add_argument("--mark", type=lambda s: int(s, 0), required=True)
    args = parser.parse_args(argv)
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((args.listen, 0))
    server.listen(64)
    own = server.getsockname()
    print(own[1], flush=True)
    sys.stdout.close()
    while True:
        conn, _ = server.accept()
        threading.Thread(target=serve, args=(conn, own, args), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
