"""The result message, shaped like AWS's DLR image-classification component publishes it.

AWS's sample inference code publishes on ``ml/dlr/image-classification``::

    {"timestamp": "2021-06-03 04:34:48.645510", "inference-type": "image-classification",
     "inference-description": "Top 3 predictions with score 0.15 or above ",
     "inference-results": [{"Label": "strawberry", "Score": "0.52127737"}]}

Scores are strings, as AWS sends them. This project adds two keys consumers may ignore:
``image`` (the file name of the frame the result is for) and ``top1`` (the class index).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np

INFERENCE_TYPE = "image-classification"
MAX_PAYLOAD_BYTES = 128 * 1024  # AWS IoT Core's message size limit


class PayloadError(ValueError):
    """A message that is not a well-formed classification result."""


@dataclass(frozen=True)
class Prediction:
    label: str
    score: float


@dataclass(frozen=True)
class ClassificationResult:
    timestamp: str
    description: str
    predictions: tuple[Prediction, ...]
    image: str | None
    top1: int | None

    @property
    def top_label(self) -> str | None:
        return self.predictions[0].label if self.predictions else None


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64).ravel()
    e = np.exp(z - z.max())
    return e / e.sum()


def build_payload(logits: np.ndarray, labels: list[str] | None, *, max_results: int = 5,
                  score_threshold: float = 0.0, image: str | None = None,
                  now: datetime | None = None) -> dict[str, object]:
    """The message for one inference: the top ``max_results`` softmax scores at or above the threshold."""
    probabilities = softmax(logits)
    order = np.argsort(-probabilities, kind="stable")
    results = []
    for index in order[:max_results]:
        if probabilities[index] < score_threshold:
            break
        label = labels[index] if labels and index < len(labels) else str(int(index))
        results.append({"Label": label, "Score": f"{probabilities[index]:.8f}"})
    payload: dict[str, object] = {
        "timestamp": str(now or datetime.now()),
        "inference-type": INFERENCE_TYPE,
        "inference-description": f"Top {max_results} predictions with score {score_threshold} or above ",
        "inference-results": results,
        "top1": int(order[0]),
    }
    if image is not None:
        payload["image"] = image
    return payload


def parse_payload(data: bytes | str) -> ClassificationResult:
    """A received message -> ClassificationResult; anything else raises PayloadError (one line)."""
    if isinstance(data, bytes | bytearray):
        if len(data) > MAX_PAYLOAD_BYTES:
            raise PayloadError(f"message of {len(data)} bytes exceeds {MAX_PAYLOAD_BYTES}")
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PayloadError(f"message is not UTF-8: {exc.reason}") from None
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise PayloadError(f"message is not JSON: {str(exc)[:80]}") from None
    if not isinstance(doc, dict):
        raise PayloadError(f"message is a JSON {type(doc).__name__}, expected an object")
    for key in ("timestamp", "inference-type", "inference-description"):
        if not isinstance(doc.get(key), str):
            raise PayloadError(f"message lacks string {key!r}")
    if doc["inference-type"] != INFERENCE_TYPE:
        raise PayloadError(f"inference-type {doc['inference-type'][:40]!r} is not {INFERENCE_TYPE!r}")
    raw = doc.get("inference-results")
    if not isinstance(raw, list):
        raise PayloadError("message lacks the list 'inference-results'")
    predictions = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("Label"), str):
            raise PayloadError(f"inference-results[{i}] lacks a string 'Label'")
        score = item.get("Score")
        try:
            value = float(score) if isinstance(score, str | int | float) and not isinstance(score, bool) else None
        except (ValueError, OverflowError):
            value = None
        if value is None or not math.isfinite(value) or not 0.0 <= value <= 1.0:
            raise PayloadError(f"inference-results[{i}].Score {str(score)[:40]!r} is not a number in [0, 1]")
        predictions.append(Prediction(item["Label"], value))
    image = doc.get("image")
    if image is not None and not isinstance(image, str):
        raise PayloadError("'image' must be a string")
    top1 = doc.get("top1")
    if top1 is not None and (isinstance(top1, bool) or not isinstance(top1, int) or top1 < 0):
        raise PayloadError("'top1' must be a non-negative integer")
    return ClassificationResult(doc["timestamp"], doc["inference-description"], tuple(predictions), image, top1)
