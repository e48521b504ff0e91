"""The inference component's script: DLR image classification, results published over MQTT with mTLS.

Greengrass runs it as ``/opt/hil/venv/bin/python component.py --model-dir DIR --accelerator cpu
--image-dir DIR --image-name NAME --interval S --topic T`` (harness.greengrass.builders'
contract; HIL_* environment variables carry the same values). The broker and the thing's
credentials come from ``--endpoint``/``--cert``/``--key``/``--ca`` or HIL_IOT_ENDPOINT,
HIL_THING_CERT, HIL_THING_KEY, HIL_ROOT_CA (the harness sets them in the recipe from the lab file's
endpoint and the paths the device's Greengrass configuration names: harness.mqtt.route), else from
the core's files (/greengrass/v2/iot-endpoint, thingCert.crt, privKey.key, rootCA.pem).
Its siblings (link, payload, preprocess, publisher) are the component's other artifacts, beside it.

Every interval it classifies ``image-dir/image-name`` (or, without a name, the newest frame in
``image-dir``: the camera simulator's output) and publishes one result at QoS 1, again until the broker
acknowledges it (publisher.publish_every: a broker that is down is retried with backoff and logged; the
script never exits for it).
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from pathlib import Path

try:  # imported from the host as harness.ondevice.component
    from . import cpus, link
    from .payload import build_payload
    from .preprocess import ImageError, load_image, newest_image, preprocess
    from .publisher import Publisher, log, publish_every
except ImportError:  # run on the device as a script: its siblings are its component's other artifacts
    import cpus  # type: ignore[no-redef]
    import link  # type: ignore[no-redef]
    from payload import build_payload  # type: ignore[no-redef]
    from preprocess import ImageError, load_image, newest_image, preprocess  # type: ignore[no-redef]
    from publisher import Publisher, log, publish_every  # type: ignore[no-redef]

GG_ROOT = Path("/greengrass/v2")
DEFAULT_IMAGE_DIR = "/var/lib/hil/camera"
LABEL_FILES = ("labels.txt", "synset.txt")


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
    # Unique per process where the broker keeps the id it is given; the lab broker replaces it with the
    # certificate's CN (as an IoT policy on `client/${iot:Connection.Thing.ThingName}` would), so there each thing
    # holds one connection at a time and publishes on its own topics only (harness.mqtt.acl).
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


def main(argv: list[str] | None = None) -> int:
    args = options(argv)
    cpus.tvm_threads()  # as the harness measured it, not TVM's half of the CPUs on x86_64
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
    image_dir = Path(args.image_dir)

    def classify(_seq: int) -> tuple[dict[str, object], str] | None:
        path = image_dir / args.image_name if args.image_name else newest_image(image_dir)
        if path is None:
            log(f"no image in {image_dir} yet")
            return None
        try:
            x = preprocess(load_image(path))
        except ImageError as exc:
            log(f"skipping image: {exc}")
            return None
        t0 = time.perf_counter()
        logits = np.asarray(model.run({input_name: x})[0]).ravel()
        ms = (time.perf_counter() - t0) * 1000
        payload = build_payload(logits, labels, max_results=args.max_results, image=path.name)
        return payload, (f"inference image={path.name} top1={payload['top1']} "
                         f"score={payload['inference-results'][0]['Score']} ms={ms:.1f}")

    publish_every(Publisher.for_options(args, endpoint), args.topic, args.interval, classify)


if __name__ == "__main__":
    sys.exit(main())
