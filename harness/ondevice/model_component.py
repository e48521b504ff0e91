"""The generic model component's script: any Neo model on DLR, its outputs published over MQTT with mTLS.

Greengrass runs it as ``/opt/hil/venv/bin/python model_component.py --model-dir DIR --accelerator cpu
--inputs FILE --seed N --interval S --topic T`` (harness.greengrass.builders.model_inference_component's
contract; HIL_* environment variables carry the same values). The broker and credentials are found as
the image-classification component finds them (component.py's options); publishing is publisher.py's.

Inputs, for any number of inputs of any shape and dtype (compiled.meta says which):
- ``--inputs FILE``: an .npz the host prepared (the user's samples, or photographs laid out for the
  model): keys ``<set>/<input name>`` (``<set>`` a number; names may contain '/' or ':') and the
  sets' labels in ``labels``;
- else seeded random inputs, the rule of harness.models.samples.random_inputs: per input, a
  generator seeded from sha256 of the JSON ``[seed, name]``; floats in [-1, 1), integers in
  [-128, 127] within the dtype, bools.

Every interval it runs the next input set and publishes one ``hil.model-outputs/1`` message
(output_summary.py) with ``input`` (the set's label), ``ms`` and ``seq`` added.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

try:  # imported from the host as harness.ondevice.model_component
    from . import component, cpus, link, output_summary
    from .publisher import Publisher, log, publish_every
except ImportError:  # run on the device as a script: its siblings are its component's other artifacts
    import component  # type: ignore[no-redef]
    import cpus  # type: ignore[no-redef]
    import link  # type: ignore[no-redef]
    import output_summary  # type: ignore[no-redef]
    from publisher import Publisher, log, publish_every  # type: ignore[no-redef]

LABELS_KEY = "labels"


def options(argv: list[str] | None = None) -> argparse.Namespace:
    import os

    env = os.environ.get
    extra = argparse.ArgumentParser(add_help=False)
    extra.add_argument("--inputs", default=env("HIL_INPUTS_FILE", ""))
    extra.add_argument("--seed", default=env("HIL_INPUT_SEED") or "0")
    known, rest = extra.parse_known_args(argv)
    # The image options stay accepted (the recipe is shared in shape) and unused.
    args = component.options([*rest])
    try:
        args.seed = int(known.seed)
    except ValueError:
        print(f"error: --seed {known.seed!r} is not an integer", file=sys.stderr)
        raise SystemExit(2) from None
    args.inputs = known.inputs
    return args


def read_meta(model_dir: Path) -> dict:
    return json.loads((model_dir / "compiled.meta").read_text())


def random_inputs(specs: list[dict], seed: int) -> dict:
    """harness.models.samples.random_inputs, numpy only (the device has no harness)."""
    import numpy as np

    out = {}
    for spec in specs:
        key = json.dumps([seed, spec["name"]], sort_keys=True, separators=(",", ":"))
        rng = np.random.default_rng(int(hashlib.sha256(key.encode()).hexdigest()[:16], 16))
        dtype, shape = np.dtype(spec["dtype"]), tuple(int(d) for d in spec["shape"])
        if dtype.kind == "f":
            value = rng.uniform(-1.0, 1.0, shape).astype(dtype)
        elif dtype.kind == "b":
            value = rng.integers(0, 2, shape).astype(bool)
        else:
            info = np.iinfo(dtype)
            value = rng.integers(max(info.min, -128), min(info.max, 127), shape, endpoint=True).astype(dtype)
        out[spec["name"]] = value
    return out


def read_input_sets(path: Path, specs: list[dict]) -> list[tuple[str, dict]]:
    """The sets of an inputs .npz, each checked against compiled.meta (shape and dtype exact)."""
    import numpy as np

    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: np.asarray(npz[k]) for k in npz.files}
    labels = [str(v) for v in arrays.pop(LABELS_KEY, np.array([], dtype=str)).tolist()]
    sets: dict[int, dict] = {}
    for key, value in arrays.items():
        index, _, name = key.partition("/")
        if not index.isdigit() or not name:
            raise ValueError(f"{path.name}: key {key!r} is not '<set>/<input name>'")
        sets.setdefault(int(index), {})[name] = value
    out = []
    for index in sorted(sets):
        given = sets[index]
        for spec in specs:
            value = given.get(spec["name"])
            if value is None:
                raise ValueError(f"{path.name}: set {index} has no input {spec['name']!r}")
            if list(value.shape) != list(spec["shape"]) or value.dtype.name != spec["dtype"]:
                raise ValueError(f"{path.name}: set {index} input {spec['name']!r} is {value.dtype.name}"
                                 f"{list(value.shape)}, the model takes {spec['dtype']}{list(spec['shape'])}")
        label = labels[index] if index < len(labels) else f"set {index}"
        out.append((label, {s["name"]: np.ascontiguousarray(given[s["name"]]) for s in specs}))
    if not out:
        raise ValueError(f"{path.name} holds no input set")
    return out


def infer(model, names: list[str], label: str, feed: dict, seq: int) -> dict:
    """One run of ``model`` (a dlr.DLRModel) on ``feed``: the message to publish."""
    import numpy as np

    t0 = time.perf_counter()
    outputs = model.run(feed)
    ms = (time.perf_counter() - t0) * 1000
    # A little room under the limit for the keys added here.
    message = output_summary.summarize(dict(zip(names, (np.asarray(o) for o in outputs), strict=True)),
                                       max_bytes=output_summary.MAX_BYTES - 512)
    message.update({"input": label, "ms": round(ms, 3), "seq": seq})
    return message


def main(argv: list[str] | None = None) -> int:
    args = options(argv)
    cpus.tvm_threads()  # as the harness measured it, not TVM's half of the CPUs on x86_64
    import dlr

    model_dir = Path(args.model_dir)
    try:
        endpoint = link.parse_endpoint(args.endpoint)
        meta = read_meta(model_dir)
        specs, names = meta["inputs"], [o["name"] for o in meta["outputs"]]
        sets = (read_input_sets(Path(args.inputs), specs) if args.inputs
                else [(f"seed {args.seed}", random_inputs(specs, args.seed))])
    except (OSError, ValueError, KeyError) as exc:
        log(f"error: {type(exc).__name__}: {exc}")
        return 2
    started = time.monotonic()
    try:
        model = dlr.DLRModel(str(model_dir), args.accelerator, 0)
    except Exception as exc:  # noqa: BLE001 - DLR raises bare Exceptions with its C error text
        log(f"error: DLR cannot load the Neo model in {model_dir}: {exc}")
        return 1
    log(f"model {model_dir} loaded in {time.monotonic() - started:.2f} s ({len(specs)} inputs, {len(names)} "
        f"outputs, dlr {model.get_version()}); {len(sets)} input sets; results on {args.topic} "
        f"every {args.interval:g} s")

    def run(seq: int) -> tuple[dict[str, object], str]:
        label, feed = sets[seq % len(sets)]
        message = infer(model, names, label, feed, seq)
        return message, f"inference input={label} outputs={len(names)} ms={message['ms']:.1f}"

    publish_every(Publisher.for_options(args, endpoint), args.topic, args.interval, run)


if __name__ == "__main__":
    sys.exit(main())
