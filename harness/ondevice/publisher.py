"""The inference components' publishing side: one MQTT connection held across reconnects, and the loop
that makes a message every interval and publishes it (component.py and model_component.py share both).

A broker that is down, refuses us, or a thing certificate that is not there yet is retried with capped
exponential backoff and logged; the component never exits for it (Greengrass would restart it, and a
board that is being provisioned gets there in its own time).
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

try:  # imported from the host as harness.ondevice.publisher
    from . import link
except ImportError:  # run on the device as a script: its siblings are its component's other artifacts
    import link  # type: ignore[no-redef]

MAX_BACKOFF = 30.0
#: Seconds a publish waits for its PUBACK, and how long one result is retried before it is dropped.
ACK_WITHIN = 15.0
RETRY_FOR = 300.0
_WHY = {link.CredentialsError: "thing credentials unusable", link.EndpointUnreachable: "broker unreachable",
        link.HandshakeRefused: "broker refused the connection"}


def log(message: str) -> None:
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {message}", flush=True)


class Publisher:
    """Holds one MQTT connection; reconnects with capped exponential backoff, logging every failure.

    While the connection is down nothing is handed to it (awscrt would send it the moment it is back).
    A result acknowledged while a subscriber is away is the broker's to keep: the harness's subscriber holds a
    persistent session, which the lab broker keeps across its restarts (harness.mqtt.broker).
    """

    def __init__(self, endpoint: tuple[str, int], creds: link.Credentials, client_id: str) -> None:
        self.endpoint, self.creds, self.client_id = endpoint, creds, client_id
        self.connection = None
        self.backoff = 1.0
        self.online = threading.Event()

    @classmethod
    def for_options(cls, args: argparse.Namespace, endpoint: tuple[str, int]) -> Publisher:
        """The publisher the component's options describe (``--cert``/``--key``/``--ca``/``--client-id``)."""
        return cls(endpoint, link.Credentials(Path(args.cert), Path(args.key), Path(args.ca)), args.client_id)

    def _interrupted(self, message: str) -> None:
        self.online.clear()
        log(message)

    def _resumed(self, connection: object, session_present: bool) -> None:
        self.online.set()
        log(f"reconnected to {self.endpoint[0]}:{self.endpoint[1]} (session present: {session_present})")

    def _ready(self, until: float) -> bool:
        """Wait for the connection to be up, until the monotonic time ``until``."""
        while not self.online.wait(min(1.0, max(until - time.monotonic(), 0.0))):
            if time.monotonic() >= until:
                return False
        return True

    def ensure(self) -> bool:
        """Connected (True), or one failed attempt logged and slept off (False)."""
        if self.connection is not None:
            return True
        try:
            self.connection = link.connect(self.endpoint, self.creds, self.client_id,
                                           on_interrupted=self._interrupted, on_resumed=self._resumed)
        except link.LinkError as exc:
            log(f"{_WHY.get(type(exc), 'broker unavailable')}, retrying in {self.backoff:g} s: {exc}")
            time.sleep(self.backoff)
            self.backoff = min(self.backoff * 2, MAX_BACKOFF)
            return False
        self.backoff = 1.0
        self.online.set()
        log(f"connected to {self.endpoint[0]}:{self.endpoint[1]} as {self.client_id}")
        return True

    def publish(self, topic: str, payload: dict[str, object]) -> bool:
        """Publish at QoS 1 until the broker acknowledges it (a broker restart loses no result), for at most
        RETRY_FOR seconds; False (logged) when it gave up. A retry may deliver a message twice: QoS 1."""
        body = json.dumps(payload)
        started, delay = time.monotonic(), 1.0
        while True:
            while not self.ensure():
                pass
            if not self._ready(started + RETRY_FOR):
                log(f"broker unreachable for {RETRY_FOR:g} s, result on {topic} dropped")
                return False
            future, _ = self.connection.publish(topic, body, link.QOS1)
            try:
                future.result(ACK_WITHIN)
                return True
            except Exception as exc:  # noqa: BLE001 - a timeout or an awscrt error: retry, keep running
                if time.monotonic() - started + delay > RETRY_FOR:
                    log(f"publish on {topic} not acknowledged for {RETRY_FOR:g} s, dropped: "
                        f"{type(exc).__name__}: {exc}")
                    return False
                log(f"publish on {topic} not acknowledged, again in {delay:g} s: {type(exc).__name__}: {exc}")
                time.sleep(delay)
                delay = min(delay * 2, 8.0)


def publish_every(publisher: Publisher, topic: str, interval: float,
                  produce: Callable[[int], tuple[dict[str, object], str] | None]) -> NoReturn:
    """Every ``interval`` s, ``produce(seq)`` makes one message and what to log of it (None: nothing this
    time, already logged); it is published on ``topic`` and the outcome logged."""
    publisher.ensure()
    seq = 0
    while True:
        tick = time.monotonic()
        made = produce(seq)
        if made is not None:
            message, what = made
            sent = publisher.publish(topic, message)
            log(f"{what} {'published' if sent else 'NOT published'} on {topic}")
            seq += 1
        time.sleep(max(0.0, interval - (time.monotonic() - tick)))

