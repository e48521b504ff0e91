"""The inference component's script: DLR image classification, results published over MQTT with mTLS.

Greengrass runs it as ``/opt/hil/venv/bin/python component.py --model-dir DIR --accelerator cpu
--image-dir DIR --image-name NAME --interval S --topic T`` (harness.greengrass.builders'
contract; HIL_* environment variables carry the same values). The broker and the thing's
credentials come from ``--endpoint``/``--cert``/``--key``/``--ca`` or HIL_IOT_ENDPOINT,
HIL_THING_CERT, HIL_THING_KEY, HIL_ROOT_CA, else from the core's files
(/greengrass/v2/iot-endpoint, thingCert.crt, privKey.key, rootCA.pem), as a real core keeps them.
Its siblings (link, payload, preprocess) are the component's other artifacts, beside it.

Every interval it classifies ``image-dir/image-name`` (or, without a name, the newest frame in
``image-dir``: the camera simulator's output) and publishes one result at QoS 1, again until the broker
acknowledges it. A broker that is down is retried with backoff and logged; the script never exits for it.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import threading
import time
from pathlib import Path

try:  # imported from the host as harness.ondevice.component
    from . import link
    from .payload import build_payload
    from .preprocess import ImageError, load_image, newest_image, preprocess
except ImportError:  # run on the device as a script: its siblings are its component's other artifacts
    import link  # type: ignore[no-redef]
    from payload import build_payload  # type: ignore[no-redef]
    from preprocess import ImageError, load_image, newest_image, preprocess  # type: ignore[no-redef]

GG_ROOT = Path("/greengrass/v2")
DEFAULT_IMAGE_DIR = "/var/lib/hil/camera"
LABEL_FILES = ("labels.txt", "synset.txt")
#: Seconds a publish waits for its PUBACK, and how long one result is retried before it is dropped.
ACK_WITHIN = 15.0
RETRY_FOR = 300.0
#: Seconds to hold results after a reconnect: longer than a subscriber's reconnect period (the harness's: 1 s)
#: plus its TLS handshake and SUBSCRIBE.
RESUME_GRACE = 3.0


def log(message: str) -> None:
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {message}", flush=True)


def options(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model-dir", default=env("HIL_MODEL_DIR", ""))
    p.add_argument("--accelerator", default=env("HIL_ACCELERATOR") or "cpu", choices=("cpu", "gpu"))
    p.add_argument("--image-dir", default=env("HIL_IMAGE_DIR", ""))
    p.add_argument("--image-name", default=env("HIL_IMAGE_NAME", ""))
    p.add_argument("--interval", default=env("HIL_INFERENCE_INTERVAL") or "3600")
    p.add_argument("--topic", default=env("HIL_RESULTS_TOPIC") or "ml/dlr/image-classification")
    p.add_argument("--endpoint", default=env("HIL_IOT_ENDPOINT", ""))
    p.add_argument("--cert", default=env("HIL_THING_CERT") or str(GG_ROOT / "thingCert.crt"))
    p.add_argument("--key", default=env("HIL_THING_KEY") or str(GG_ROOT / "privKey.key"))
    p.add_argument("--ca", default=env("HIL_ROOT_CA") or str(GG_ROOT / "rootCA.pem"))
    # Unique per process: cores may share a Greengrass thing name, and a broker drops the older of two
    # clients with one id.
    p.add_argument("--client-id", default=env("HIL_MQTT_CLIENT_ID") or f"{socket.gethostname()}-dlr-{os.getpid()}")
    p.add_argument("--max-results", type=int, default=5)
    args = p.parse_args(argv)
    try:
        args.interval = float(args.interval)
    except ValueError:
        p.error(f"--interval {args.interval!r} is not a number of seconds")
    if not args.interval > 0:
        p.error("--interval must be positive")
    if not args.model_dir:
        p.error("--model-dir (HIL_MODEL_DIR) is required")
    args.image_dir = args.image_dir or DEFAULT_IMAGE_DIR
    if not args.endpoint:
        try:
            args.endpoint = (GG_ROOT / "iot-endpoint").read_text().strip()
        except OSError:
            p.error(f"no --endpoint / HIL_IOT_ENDPOINT and no {GG_ROOT / 'iot-endpoint'}")
    return args


def read_labels(model_dir: Path) -> list[str] | None:
    for name in LABEL_FILES:
        path = model_dir / name
        if path.is_file():
            return [line.strip() for line in path.read_text().splitlines() if line.strip()]
    return None


class Publisher:
    """Holds one MQTT connection; reconnects with capped exponential backoff, logging every failure.

    While the connection is down nothing is handed to it (awscrt would send it the moment it is back);
    after a reconnect it waits RESUME_GRACE: a broker that restarted has forgotten every clean
    session's subscriptions, and a result published before the subscribers are back reaches no one.
    """

    def __init__(self, endpoint: tuple[str, int], creds: object, client_id: str) -> None:
        self.endpoint, self.creds, self.client_id = endpoint, creds, client_id
        self.connection = None
        self.backoff = 1.0
        self.online = threading.Event()
        self.resumed_at = 0.0

    def _interrupted(self, message: str) -> None:
        self.online.clear()
        log(message)

    def _resumed(self, connection: object, session_present: bool) -> None:
        self.resumed_at = time.monotonic()
        self.online.set()
        log(f"reconnected to {self.endpoint[0]}:{self.endpoint[1]} (session present: {session_present})")

    def _ready(self, until: float) -> bool:
        """Wait for the connection to be up and settled, until the monotonic time ``until``."""
        while not self.online.wait(min(1.0, max(until - time.monotonic(), 0.0))):
            if time.monotonic() >= until:
                return False
        settle = self.resumed_at + RESUME_GRACE - time.monotonic()
        if settle > 0:
            time.sleep(settle)
        return True

    def ensure(self) -> bool:
        if self.connection is not None:
            return True
        try:
            self.connection = link.connect(self.endpoint, self.creds, self.client_id,
                                           on_interrupted=self._interrupted, on_resumed=self._resumed)
        except link.LinkError as exc:
            log(f"broker unavailable, retrying in {self.backoff:g} s: {exc}")
            time.sleep(self.backoff)
            self.backoff = min(self.backoff * 2, 30.0)
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


def main(argv: list[str] | None = None) -> int:
    args = options(argv)
    import dlr
    import numpy as np

    model_dir = Path(args.model_dir)
    try:
        endpoint = link.parse_endpoint(args.endpoint)
    except ValueError as exc:
        log(f"error: {exc}")
        return 2
    started = time.monotonic()
    try:
        model = dlr.DLRModel(str(model_dir), args.accelerator, 0)
    except Exception as exc:  # noqa: BLE001 - DLR raises bare Exceptions with its C error text
        log(f"error: DLR cannot load the Neo model in {model_dir}: {exc}")
        return 1
    input_name = model.get_input_names()[0]
    labels = read_labels(model_dir)
    log(f"model {model_dir} loaded in {time.monotonic() - started:.2f} s (input {input_name}, "
        f"dlr {model.get_version()}); images from {args.image_dir}/{args.image_name or '<newest>'}; "
        f"results on {args.topic} every {args.interval:g} s")
    creds = link.Credentials(Path(args.cert), Path(args.key), Path(args.ca))
    publisher = Publisher(endpoint, creds, args.client_id)
    publisher.ensure()
    while True:
        tick = time.monotonic()
        image_dir = Path(args.image_dir)
        path = image_dir / args.image_name if args.image_name else newest_image(image_dir)
        if path is None:
            log(f"no image in {image_dir} yet")
        else:
            try:
                x = preprocess(load_image(path))
                t0 = time.perf_counter()
                logits = np.asarray(model.run({input_name: x})[0]).ravel()
                ms = (time.perf_counter() - t0) * 1000
                payload = build_payload(logits, labels, max_results=args.max_results, image=path.name)
                sent = publisher.publish(args.topic, payload)
                log(f"inference image={path.name} top1={payload['top1']} "
                    f"score={payload['inference-results'][0]['Score']} ms={ms:.1f} "
                    f"{'published' if sent else 'NOT published'} on {args.topic}")
            except ImageError as exc:
                log(f"skipping image: {exc}")
        time.sleep(max(0.0, args.interval - (time.monotonic() - tick)))


if __name__ == "__main__":
    sys.exit(main())
