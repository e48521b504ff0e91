"""The shipped workloads the scenarios know beyond "any model": BlazeFace on photographs (the default run)
and the tiny CNN. A known workload brings its own inputs and a task-level check on top of the output
agreement every model gets: for BlazeFace, the device's detections match host LiteRT's (IoU >= 0.9,
scores within 1e-3) and the faces a person sees in each photograph.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from harness.models import catalog
from harness.models.samples import InputSet

#: ``--model`` shortcuts for the shipped workloads (the default run is the first).
NAMES = ("blazeface", "tinycnn")
MIN_IOU = 0.9
SCORE_ATOL = 1e-3


def workload(name: str) -> catalog.Workload:
    if name == "blazeface":
        return catalog.blazeface_workload()
    if name == "tinycnn":
        return catalog.tiny_cnn_workload()
    raise ValueError(f"no shipped workload {name!r}; shipped: {', '.join(NAMES)}")


def is_detector(model: Path) -> bool:
    """Is ``model`` the shipped BlazeFace file (then its photographs and detection checks apply)?"""
    try:
        return Path(model).resolve() == catalog.blazeface_model().resolve()
    except catalog.WorkloadMissing:
        return False


def photograph_inputs(input_name: str) -> list[InputSet]:
    """Each shipped photograph letterboxed as MediaPipe feeds BlazeFace."""
    import cv2

    from harness.models import blazeface

    sets = []
    for name, path in catalog.blazeface_workload().images.items():
        x, _ = blazeface.preprocess(cv2.imread(str(path), cv2.IMREAD_COLOR))
        sets.append(InputSet(name, {input_name: x}))
    return sets


def detection_problems(label: str, message: Mapping[str, object], host: Mapping[str, np.ndarray]) -> list[str]:
    """Why the device's detections on photograph ``label`` do not match host LiteRT's or the ground truth."""
    import cv2

    from harness.models import blazeface
    from harness.ondevice.output_summary import decode_entry

    path = catalog.blazeface_workload().images[label]
    _, box = blazeface.preprocess(cv2.imread(str(path), cv2.IMREAD_COLOR))
    entries = {str(e["name"]): e for e in message["outputs"]}  # type: ignore[union-attr]
    outputs = {name: decode_entry(entries[name]) for name in host if name in entries}
    if any(v is None for v in outputs.values()) or set(outputs) != set(host):
        return [f"{label}: the device's message does not carry both outputs whole"]
    got = blazeface.detect(outputs, box)
    want = blazeface.detect(dict(host), box)
    problems = []
    verdict = blazeface.match(want, got, min_iou=MIN_IOU, score_atol=SCORE_ATOL)
    if not verdict.ok:
        problems.append(f"{label}: device vs host LiteRT: {verdict.reason}")
    faces = catalog.PHOTOGRAPH_FACES.get(label)
    if faces is not None and len(got) != faces:
        problems.append(f"{label}: {len(got)} faces detected on the device, a person sees {faces}")
    return problems
