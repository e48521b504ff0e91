"""The inference components' publishing side: one MQTT connection held across reconnects, and the loop
that makes a message every interval and publishes it (component.py and model_component.py share both).

A broker that is down, refuses us, or a thing certificate that is not there yet is retried with capped
exponential backoff and logged; the component never exits for it (Greengrass would restart it, and a
board that is being provisioned gets there in its own time).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

try:  # imported from the host as harness.ondevice.publisher
    from . import link
except ImportError:  # run on the device as a script: its siblings are its component's other artifacts
    import link  # type: ignore[no-redef]

MAX_BACKOFF = 30.0
ACK_WITHIN = 15.0
_WHY = {link.CredentialsError: "thing credentials unusable", link.EndpointUnreachable: "broker unreachable",
        link.HandshakeRefused: "broker refused the connection"}


def log(message: str) -> None:
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {message}", flush=True)


class Publisher:
    """Holds one MQTT connection; reconnects with capped exponential backoff, logging every failure."""

    def __init__(self, endpoint: tuple[str, int], creds: link.Credentials, client_id: str) -> None:
        self.endpoint, self.creds, self.client_id = endpoint, creds, client_id
        self.connection = None
        self.backoff = 1.0

    @classmethod
    def for_options(cls, args: argparse.Namespace, endpoint: tuple[str, int]) -> Publisher:
        """The publisher the component's options describe (``--cert``/``--key``/``--ca``/``--client-id``)."""
        return cls(endpoint, link.Credentials(Path(args.cert), Path(args.key), Path(args.ca)), args.client_id)

    def ensure(self) -> bool:
        """Connected (True), or one failed attempt logged and slept off (False)."""
        if self.connection is not None:
            return True
        try:
            self.connection = link.connect(self.endpoint, self.creds, self.client_id, on_interrupted=log)
        except link.LinkError as exc:
            log(f"{_WHY.get(type(exc), 'broker unavailable')}, retrying in {self.backoff:g} s: {exc}")
            time.sleep(self.backoff)
            self.backoff = min(self.backoff * 2, MAX_BACKOFF)
            return False
        self.backoff = 1.0
        log(f"connected to {self.endpoint[0]}:{self.endpoint[1]} as {self.client_id}")
        return True

    def publish(self, topic: str, payload: dict[str, object]) -> bool:
        """Publish at QoS 1 once connected; False (logged) when the PUBACK does not come."""
        while not self.ensure():
            pass
        future, _ = self.connection.publish(topic, json.dumps(payload), link.QOS1)
        try:
            future.result(ACK_WITHIN)
            return True
        except Exception as exc:  # noqa: BLE001 - a timeout or an awscrt error: log, keep running
            log(f"publish on {topic} not acknowledged: {type(exc).__name__}: {exc}")
            return False


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

