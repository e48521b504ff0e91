"""The harness's side of the results topic: subscribe with its own certificate, collect, assert.

    with ResultSubscriber(endpoint, creds, "ml/dlr/image-classification") as results:
        result = results.expect(lambda r: r.image == "red_circle.png", within=60, device="x86")
        assert result.top1 == 4

(Not for latency figures: MQTT over mTLS on loopback shows ~44 ms stalls, Nagle's algorithm meeting
delayed ACKs.)
"""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from harness.errors import FailureClass, HilError
from harness.ondevice import link
from harness.ondevice.payload import ClassificationResult, PayloadError, parse_payload
from harness.primitives.deadline import Timeout


class ResultsError(HilError):
    failure_class = FailureClass.TIMEOUT


class BrokerRefused(HilError):
    failure_class = FailureClass.AUTH


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    at: float  # time.monotonic() on arrival


class ResultSubscriber:
    """Collects every message on ``topic`` (MQTT wildcards allowed) from connect until close."""

    def __init__(self, endpoint: tuple[str, int], creds: link.Credentials, topic: str, *,
                 client_id: str | None = None, timeout: float = 10.0) -> None:
        self.endpoint, self.creds, self.topic = endpoint, creds, topic
        self.client_id = client_id or f"harness-{uuid.uuid4().hex[:8]}"
        self.timeout = timeout
        self._queue: queue.Queue[Received] = queue.Queue()
        self.received: list[Received] = []
        self.rejected: list[str] = []
        self._lock = threading.Lock()
        self._connection = None

    def __enter__(self) -> ResultSubscriber:
        try:
            self._connection = link.connect(self.endpoint, self.creds, self.client_id, timeout=self.timeout,
                                            on_resumed=self._resumed, reconnect_max_s=1)
        except link.LinkError as exc:
            raise BrokerRefused(str(exc), step="mqtt subscribe",
                                advice="is the lab broker up (`hil lab up`) and this certificate from the lab CA?"
                                ) from None
        future, _ = self._connection.subscribe(self.topic, link.QOS1, callback=self._on_message)
        future.result(self.timeout)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._connection is not None:
            link.disconnect(self._connection)
            self._connection = None

    @staticmethod
    def _resumed(connection: object, session_present: bool) -> None:
        """A broker that restarted forgot the subscription (clean session): subscribe again at once. The
        subscriber tries to reconnect every second (``reconnect_max_s=1``), inside the publishers' grace
        (harness.ondevice.component.RESUME_GRACE)."""
        if not session_present:
            connection.resubscribe_existing_topics()  # type: ignore[attr-defined]

    def _on_message(self, topic: str, payload: bytes, **_: object) -> None:
        self._queue.put(Received(topic, bytes(payload), time.monotonic()))

    def expect(self, match: Callable[[ClassificationResult], bool] = lambda _: True, *, within: float,
               device: str | None = None, count: int = 1) -> list[ClassificationResult]:
        """``count`` well-formed results for which ``match`` holds, within ``within`` s; else ResultsError.

        Messages that do not parse are kept in ``rejected`` (and named in the error), never crash.
        """
        deadline = Timeout(within)
        matched: list[ClassificationResult] = []
        seen = 0
        while len(matched) < count:
            if deadline.expired:
                bad = f"; {len(self.rejected)} malformed, first: {self.rejected[0]}" if self.rejected else ""
                raise ResultsError(f"{len(matched)}/{count} matching results on {self.topic} within {within:g} s "
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
                result = parse_payload(message.payload)
            except PayloadError as exc:
                self.rejected.append(str(exc))
                continue
            if match(result):
                matched.append(result)
        return matched

    def expect_json(self, match: Callable[[dict], bool] = lambda _: True, *, within: float,
                    device: str | None = None, count: int = 1) -> list[dict]:
        """Like :meth:`expect` for any JSON object message (e.g. hil.model-outputs/1), not only classifications."""
        deadline = Timeout(within)
        matched: list[dict] = []
        seen = 0
        while len(matched) < count:
            if deadline.expired:
                raise ResultsError(f"{len(matched)}/{count} matching messages on {self.topic} within {within:g} s "
                                   f"({seen} messages seen)", device=device, step="mqtt results",
                                   advice="read the inference component's log (greengrass logs/<component>.log)")
            try:
                message = self._queue.get(timeout=min(deadline.remaining, 0.5))
            except queue.Empty:
                continue
            seen += 1
            with self._lock:
                self.received.append(message)
            try:
                value = json.loads(message.payload)
            except ValueError as exc:
                self.rejected.append(f"not JSON: {exc}")
                continue
            if isinstance(value, dict) and match(value):
                matched.append(value)
        return matched
