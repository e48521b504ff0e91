"""MQTT result delivery: one-way latency from a core's publish to the harness's subscriber, over mTLS.

    python benchmarks/mqtt_latency.py [--device ml-c4-emu] [--count 200] [--interval-ms 20] [--lab FILE]

A probe on the device (harness/ondevice/mqtt_probe.py) connects to the lab broker with the core's
thing certificate (as the inference component does), publishes QoS 1 messages stamped with
``time.time()``, paced like results and then back to back (where Nagle's algorithm and delayed ACKs
would show as ~40 ms stalls); the harness's own connection stamps each arrival. An emulated core
shares the host's clock, so the difference is the one-way latency; on a real board it also holds the
clock offset between board and host.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import uuid

from harness.lab.bringup import LabController
from harness.lab.inventory import load_lab
from harness.mqtt.acl import thing_topic
from harness.ondevice import link
from harness.ondevice.stats import summarize
from harness.primitives.deadline import poll_until
from harness.primitives.progress import say
from harness.ship import ship


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lab", default=None, help="lab file (default: the embedded lab)")
    parser.add_argument("--device", default="ml-c4-emu")
    parser.add_argument("--count", type=int, default=200, help="messages per mode (default 200)")
    parser.add_argument("--interval-ms", type=float, default=20.0, help="pause between paced messages")
    args = parser.parse_args()
    lab = LabController(load_lab(args.lab), say)
    say("bringing the lab up (a no-op when it is up)")
    lab.up()
    device = lab.device(args.device)
    topic = thing_topic("latency", device.name, uuid.uuid4().hex[:8])  # the core may publish only on its own
    arrivals: dict[str, list[float]] = {"paced": [], "burst": []}
    lock = threading.Lock()

    def on_message(topic: str, payload: bytes, **_: object) -> None:
        now = time.time()
        message = json.loads(payload)
        with lock:
            arrivals[message["mode"]].append((now - message["t"]) * 1000)

    subscriber = link.connect(lab.iot.endpoint, lab.iot.credentials(), f"harness-latency-{uuid.uuid4().hex[:6]}")
    try:
        future, _ = subscriber.subscribe(topic, link.QOS1, callback=on_message)
        future.result(10)
        say(f"{args.device}: publishing {args.count} paced ({args.interval_ms:g} ms apart) and {args.count} "
            "back-to-back messages")
        probe = ship(device.transport).argv(device.python, "mqtt_probe", topic, str(args.count),
                                            str(args.interval_ms / 1000))
        device.transport.check(["sudo", "-n", *probe], timeout=120 + args.count * 0.2, step="mqtt latency probe")
        poll_until(lambda: sum(map(len, arrivals.values())) >= 2 * args.count, 10, interval=0.05)
    finally:
        link.disconnect(subscriber)
        device.transport.close()
    for mode, ms in arrivals.items():
        if not ms:
            print(f"{mode}: no message arrived", file=sys.stderr)
            return 1
        s = summarize(ms)  # LoadGen's percentile rule, as every latency figure here
        print(f"{mode}: n={s['count']}/{args.count} p50 {s['p50']:.2f} ms, p90 {s['p90']:.2f}, p99 {s['p99']:.2f}, "
              f"max {s['max']:.2f}; over 40 ms: {sum(v > 40 for v in ms)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
