"""A model's outputs as one JSON message a device can publish (stdlib and numpy only: runs on devices).

Shape (schema ``hil.model-outputs/1``)::

    {"schema": "hil.model-outputs/1",
     "outputs": [
       {"name": "scores", "dtype": "float32", "shape": [1, 10], "sha256": "<hex of the raw bytes>",
        "encoding": "values", "values": [0.1, ...]},                       # small: every element, row-major
       {"name": "boxes", "dtype": "float32", "shape": [1, 896, 16], "sha256": "...",
        "encoding": "base64", "base64": "<little-endian C-order bytes>"},   # medium: every element, exact
       {"name": "features", "dtype": "float32", "shape": [1, 100000], "sha256": "...",
        "encoding": "summary", "argmax": 17, "top_k": [[17, 9.5], [3, 9.1]], "leading": [0.1, ...],
        "min": -3.2, "max": 9.5, "mean": 0.01}]}                          # large: a fingerprint
    }

``sha256`` is over the tensor's bytes in C order, little-endian, in its own dtype, so two runtimes
that agree bit for bit give the same checksum. Non-finite floats are the strings "NaN", "Infinity"
and "-Infinity" (JSON has no literal for them). The encoded message stays under ``MAX_BYTES``
(AWS IoT Core's 128 KiB message limit): outputs are encoded smallest first, each as the richest
form the remaining budget allows.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Mapping

import numpy as np

SCHEMA = "hil.model-outputs/1"
MAX_BYTES = 128 * 1024
VALUES_MAX_ELEMENTS = 256
TOP_K = 5
LEADING = 8
_NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def little_endian(array: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(array)
    return a.astype(a.dtype.newbyteorder("<"), copy=False) if a.dtype.byteorder == ">" else a


def checksum(array: np.ndarray) -> str:
    """sha256 of the tensor's C-order little-endian bytes."""
    return hashlib.sha256(little_endian(array).tobytes()).hexdigest()


def _scalar(v: float | int | bool) -> float | int | bool | str:
    if isinstance(v, float) and not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
    return v


def _plain(array: np.ndarray) -> list:
    return [_scalar(v) for v in array.reshape(-1).tolist()]


def _summary(array: np.ndarray, top_k: int, leading: int) -> dict[str, object]:
    flat = array.reshape(-1)
    entry: dict[str, object] = {"encoding": "summary", "leading": _plain(flat[:leading])}
    if flat.size and array.dtype.kind in "fiub":
        with np.errstate(invalid="ignore", over="ignore"):
            entry.update(_statistics(flat, top_k))
    return entry


def _statistics(flat: np.ndarray, top_k: int) -> dict[str, object]:
    numeric = flat.astype(np.float64)
    order = np.argsort(-np.nan_to_num(numeric, nan=-np.inf), kind="stable")[:top_k]
    every_nan = bool(np.isnan(numeric).all())
    return {"argmax": int(order[0]), "top_k": [[int(i), _scalar(flat[i].item())] for i in order],
            "min": _scalar(math.nan if every_nan else float(np.nanmin(numeric))),
            "max": _scalar(math.nan if every_nan else float(np.nanmax(numeric))),
            "mean": _scalar(float(np.mean(numeric)))}


def _size(entry: dict[str, object]) -> int:
    return len(json.dumps(entry, separators=(",", ":"), allow_nan=False)) + 1


def summarize(outputs: Mapping[str, np.ndarray], *, max_bytes: int = MAX_BYTES,
              values_max: int = VALUES_MAX_ELEMENTS, top_k: int = TOP_K, leading: int = LEADING) -> dict[str, object]:
    """The message for ``outputs`` (in their order); raises ValueError if even fingerprints do not fit."""
    arrays = {name: np.asarray(a) for name, a in outputs.items()}
    heads = {name: {"name": name, "dtype": a.dtype.name, "shape": [int(d) for d in a.shape], "sha256": checksum(a)}
             for name, a in arrays.items()}
    # Reserve a fingerprint for every output first, then upgrade the smallest outputs while the budget lasts.
    chosen = {name: {**heads[name], **_summary(a, top_k, leading)} for name, a in arrays.items()}
    budget = max_bytes - _size({"schema": SCHEMA, "outputs": []}) - sum(_size(e) for e in chosen.values())
    if budget < 0:
        raise ValueError(f"{len(arrays)} outputs do not fit in {max_bytes} bytes even as fingerprints")
    for name in sorted(arrays, key=lambda n: arrays[n].nbytes):
        a = arrays[name]
        if a.size <= values_max:
            richer = {**heads[name], "encoding": "values", "values": _plain(a)}
        else:
            richer = {**heads[name], "encoding": "base64",
                      "base64": base64.b64encode(little_endian(a).tobytes()).decode("ascii")}
        cost = _size(richer) - _size(chosen[name])
        if cost <= budget:
            chosen[name], budget = richer, budget - cost
    return {"schema": SCHEMA, "outputs": [chosen[name] for name in arrays]}


def encode(outputs: Mapping[str, np.ndarray], **options) -> bytes:
    """The message as compact JSON bytes (strict JSON: no NaN literals)."""
    return json.dumps(summarize(outputs, **options), separators=(",", ":"), allow_nan=False).encode()


def from_plain(values: list, dtype: np.dtype) -> np.ndarray:
    return np.array([_NONFINITE.get(v, v) if isinstance(v, str) else v for v in values], dtype=dtype)


def decode_entry(entry: Mapping[str, object]) -> np.ndarray | None:
    """The full tensor of a "values" or "base64" entry; None for a "summary" (only a fingerprint)."""
    dtype = np.dtype(str(entry["dtype"]))
    shape = tuple(int(d) for d in entry["shape"])  # type: ignore[union-attr]
    if entry["encoding"] == "values":
        return from_plain(list(entry["values"]), dtype).reshape(shape)  # type: ignore[arg-type]
    if entry["encoding"] == "base64":
        raw = base64.b64decode(str(entry["base64"]), validate=True)
        return np.frombuffer(raw, dtype=dtype.newbyteorder("<")).astype(dtype).reshape(shape)
    return None


def leading_values(entry: Mapping[str, object]) -> np.ndarray:
    return from_plain(list(entry.get("leading", [])), np.dtype(str(entry["dtype"])))  # type: ignore[arg-type]
