"""The harness's side of the results topic: subscribe with its own certificate, collect, assert.

    with ResultSubscriber(endpoint, creds, thing_topic("image-classification", "x86", run_id)) as results:
        result = results.expect(lambda r: r.image == "red_circle.png", within=60, device="x86")
        assert result.top1 == 4

Where ``endpoint`` and ``creds`` come from (the lab broker, or the user's own AWS IoT Core) is
harness.mqtt.route's to say; a connection that fails says which of three things went wrong (a
credentials file, the endpoint, the TLS handshake / CONNECT), with advice for that destination.

(Not for latency figures: MQTT over mTLS on loopback shows ~44 ms stalls, Nagle's algorithm meeting
delayed ACKs.)
"""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from harness.errors import FailureClass, HilError
from harness.ondevice import link
from harness.ondevice.payload import ClassificationResult, parse_payload
from harness.primitives.deadline import Timeout

T = TypeVar("T")
STEP = "mqtt subscribe"


class ResultsError(HilError):
    failure_class = FailureClass.TIMEOUT


class BrokerRefused(HilError):
    failure_class = FailureClass.AUTH


class BrokerUnreachable(HilError):
    failure_class = FailureClass.UNREACHABLE


class CredentialsMissing(HilError):
    failure_class = FailureClass.INVENTORY


#: The harness's error for each way a connection fails.
ERRORS: dict[type[link.LinkError], type[HilError]] = {
    link.CredentialsError: CredentialsMissing, link.EndpointUnreachable: BrokerUnreachable,
    link.HandshakeRefused: BrokerRefused}
#: What to do about each, on the lab's own broker.
LAB_ADVICE: Mapping[type[link.LinkError], str] = {
    link.CredentialsError: "the lab's certificates live under its state directory: run `hil lab up` to remake them",
    link.EndpointUnreachable: "is the lab broker up? run `hil lab up`",
    link.HandshakeRefused: "is the lab broker up (`hil lab up`) and this certificate from the lab CA?",
}


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    at: float  # time.monotonic() on arrival


class ResultSubscriber:
    """Collects every message on ``topic`` (MQTT wildcards allowed) from connect until close.

    Its session is persistent (``clean_session`` false, its own client id): a broker that keeps sessions (the lab's,
    harness.mqtt.broker; AWS IoT Core) holds the subscription and queues the QoS 1 results published while the
    subscriber is away, across a broker restart too. ``close`` discards the session (a clean CONNECT with the same
    id, MQTT 3.1.1 section 3.1.2.4), so no broker keeps queueing for a subscriber that is gone.
    """

    def __init__(self, endpoint: tuple[str, int], creds: link.Credentials, topic: str, *,
                 client_id: str | None = None, timeout: float = 10.0,
                 advice: Mapping[type[link.LinkError], str] = LAB_ADVICE) -> None:
        self.endpoint, self.creds, self.topic = endpoint, creds, topic
        self.client_id = client_id or f"harness-{uuid.uuid4().hex[:8]}"
        self.timeout, self.advice = timeout, advice
        self._queue: queue.Queue[Received] = queue.Queue()
        self.received: list[Received] = []
        self.rejected: list[str] = []
        self._lock = threading.Lock()
        self._connection = None

    def __enter__(self) -> ResultSubscriber:
        try:
            self._connection = link.connect(self.endpoint, self.creds, self.client_id, timeout=self.timeout,
                                            on_resumed=self._resumed, reconnect_max_s=1, clean_session=False)
        except link.LinkError as exc:
            kind = next((k for k in ERRORS if isinstance(exc, k)), link.HandshakeRefused)
            raise ERRORS[kind](str(exc), step=STEP, advice=self.advice.get(kind)) from None
        future, _ = self._connection.subscribe(self.topic, link.QOS1, callback=self._on_message)
        future.result(self.timeout)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._connection is not None:
            link.disconnect(self._connection)
            self._connection = None
            try:
                link.disconnect(link.connect(self.endpoint, self.creds, self.client_id, timeout=self.timeout))
            except link.LinkError:
                pass  # the broker is gone; the lab's expires a session left behind (persistent_client_expiration)

    @staticmethod
    def _resumed(connection: object, session_present: bool) -> None:
        """A broker that did not keep the session (one without persistence, restarted) forgot the subscription:
        subscribe again at once. The subscriber tries to reconnect every second (``reconnect_max_s=1``)."""
        if not session_present:
            connection.resubscribe_existing_topics()  # type: ignore[attr-defined]

    def _on_message(self, topic: str, payload: bytes, **_: object) -> None:
        self._queue.put(Received(topic, bytes(payload), time.monotonic()))

    def _collect(self, parse: Callable[[bytes], T], match: Callable[[T], bool], *, within: float,
                 device: str | None, count: int, what: str) -> list[T]:
        """The one wait: ``count`` messages that ``parse`` accepts and ``match`` holds for, within ``within``
        s, else ResultsError. A message ``parse`` refuses (ValueError) is kept in ``rejected``, never fatal."""
        deadline = Timeout(within)
        matched: list[T] = []
        seen = 0
        while len(matched) < count:
            if deadline.expired:
                bad = f"; {len(self.rejected)} malformed, first: {self.rejected[0]}" if self.rejected else ""
                raise ResultsError(f"{len(matched)}/{count} matching {what} on {self.topic} within {within:g} s "
                                   f"({seen} messages seen{bad})", device=device, step="mqtt results",
                                   advice="read the inference component's log (greengrass logs/<component>.log)")
            try:
                message = self._queue.get(timeout=min(deadline.remaining, 0.5))
            except queue.Empty:
                continue
            seen += 1
            with self._lock:
                self.received.append(message)
            try:
                value = parse(message.payload)
            except ValueError as exc:
                self.rejected.append(str(exc))
                continue
            if match(value):
                matched.append(value)
        return matched

    def expect(self, match: Callable[[ClassificationResult], bool] = lambda _: True, *, within: float,
               device: str | None = None, count: int = 1) -> list[ClassificationResult]:
        """``count`` well-formed classification results for which ``match`` holds, within ``within`` s."""
        return self._collect(parse_payload, match, within=within, device=device, count=count, what="results")

    def expect_json(self, match: Callable[[dict], bool] = lambda _: True, *, within: float,
                    device: str | None = None, count: int = 1) -> list[dict]:
        """Like :meth:`expect` for any JSON object message (e.g. hil.model-outputs/1), not only classifications."""
        return self._collect(_json_object, match, within=within, device=device, count=count, what="messages")


def _json_object(payload: bytes) -> dict:
    try:
        value = json.loads(payload)
    except ValueError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ValueError(f"not a JSON object: {type(value).__name__}")
    return value
