"""Inputs for any model, from the input specs compiled.meta records (name, shape, dtype).

Three sources, in the order a run prefers them: the user's ``samples.npz`` (keys = input names,
which may contain '/' or ':'), photographs for image models (one NCHW or NHWC tensor, laid out
as the model declares it), and seeded random inputs (the same seed and input name give the same
values on every machine).
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from harness.models.errors import ModelWorkloadError
from harness.primitives.digest import stable_key

Layout = Literal["NCHW", "NHWC"]
MAX_SAMPLE_BYTES = 1 << 30


class InputSpecLike(Protocol):
    """What samples need of an input: compiled.meta's TensorSpec has these fields."""

    @property
    def name(self) -> str: ...
    @property
    def shape(self) -> Sequence[int]: ...
    @property
    def dtype(self) -> str: ...


@dataclass(frozen=True)
class InputSpec:
    name: str
    shape: tuple[int, ...]
    dtype: str


def _fail(detail: str) -> ModelWorkloadError:
    return ModelWorkloadError(detail, step="inputs",
                              advice="save one array per model input: numpy.savez('samples.npz', **{name: array})")


def load_npz(path: Path | str, specs: Sequence[InputSpecLike]) -> dict[str, np.ndarray]:
    """The arrays of ``samples.npz`` checked against ``specs``: every input present, shape and dtype exact."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_SAMPLE_BYTES:
            raise _fail(f"{path.name}: larger than {MAX_SAMPLE_BYTES >> 30} GiB")
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: _read(npz, key, path.name) for key in npz.files}
    except ModelWorkloadError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise _fail(f"{path.name} is not a readable .npz file ({type(exc).__name__}: {str(exc)[:120]})") from None
    return check_samples(arrays, specs, source=path.name)


def _read(npz, key: str, source: str) -> np.ndarray:
    try:
        return np.asarray(npz[key])
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:  # object arrays, truncated members
        raise _fail(f"{source}: key {key!r} cannot be read ({str(exc)[:120]})") from None


def check_samples(arrays: dict[str, np.ndarray], specs: Sequence[InputSpecLike], *,
                  source: str = "samples") -> dict[str, np.ndarray]:
    """``arrays`` in the model's input order; any missing, unknown or mis-shaped key is one clear line."""
    names = [s.name for s in specs]
    unknown = [k for k in arrays if k not in names]
    if unknown:
        raise _fail(f"{source}: key {unknown[0]!r} is not an input of the model (inputs: {', '.join(names)})")
    out: dict[str, np.ndarray] = {}
    for spec in specs:
        if spec.name not in arrays:
            raise _fail(f"{source}: key {spec.name!r} is missing (one array per model input: {', '.join(names)})")
        value = arrays[spec.name]
        if list(value.shape) != list(spec.shape):
            raise _fail(f"{source}: key {spec.name!r} has shape {list(value.shape)}, the model takes "
                        f"{list(spec.shape)}")
        if value.dtype.name != np.dtype(spec.dtype).name:
            raise _fail(f"{source}: key {spec.name!r} has dtype {value.dtype.name}, the model takes {spec.dtype}")
        out[spec.name] = np.ascontiguousarray(value)
    return out


def image_layout(spec: InputSpecLike) -> Layout | None:
    """NCHW or NHWC when ``spec`` is one image (batch 1, 1 or 3 channels), else None."""
    shape = list(spec.shape)
    if len(shape) != 4 or shape[0] != 1:
        return None
    if shape[1] in (1, 3) and shape[3] not in (1, 3):
        return "NCHW"
    if shape[3] in (1, 3):
        return "NHWC"
    return None


def image_input(image: Path | str | np.ndarray, spec: InputSpecLike, *, layout: Layout | None = None,
                value_range: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
    """One photograph as the tensor ``spec`` takes: resized (stretched) to its H and W, RGB, in its layout.

    float inputs map pixel 0..255 linearly onto ``value_range`` ((-1, 1) for MediaPipe models);
    uint8 keeps pixels; int8 shifts them by -128 (the usual zero point of quantized image inputs).
    """
    import cv2

    layout = layout or image_layout(spec)
    if layout is None:
        raise _fail(f"input {spec.name!r} {list(spec.shape)} is not one NCHW or NHWC image")
    _, c, h, w = spec.shape if layout == "NCHW" else (spec.shape[0], spec.shape[3], spec.shape[1], spec.shape[2])
    bgr = image if isinstance(image, np.ndarray) else cv2.imread(str(image), cv2.IMREAD_COLOR)
    if bgr is None:
        raise _fail(f"cannot read image {image}")
    pixels = cv2.resize(bgr, (int(w), int(h)), interpolation=cv2.INTER_AREA)
    pixels = cv2.cvtColor(pixels, cv2.COLOR_BGR2GRAY)[..., None] if c == 1 else cv2.cvtColor(pixels,
                                                                                             cv2.COLOR_BGR2RGB)
    return to_tensor(pixels, spec, layout, value_range)


def to_tensor(pixels: np.ndarray, spec: InputSpecLike, layout: Layout,
              value_range: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
    """HxWxC uint8 pixels as a batch-1 tensor of ``spec``'s dtype and ``layout``."""
    dtype = np.dtype(spec.dtype)
    if dtype.kind == "f":
        lo, hi = value_range
        values = pixels.astype(np.float32) * np.float32((hi - lo) / 255.0) + np.float32(lo)
    elif dtype.name == "uint8":
        values = pixels
    elif dtype.name == "int8":
        values = (pixels.astype(np.int16) - 128)
    else:
        raise _fail(f"input {spec.name!r} is {dtype.name}: images feed float, uint8 or int8 inputs")
    tensor = values.astype(dtype)[None]
    if layout == "NCHW":
        tensor = tensor.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(tensor)


def random_inputs(specs: Sequence[InputSpecLike], seed: int = 0) -> dict[str, np.ndarray]:
    """Deterministic inputs per (seed, input name): floats in [-1, 1), integers over a small range, bools.

    The generator is seeded from a digest of the name, so adding an input never changes the others.
    """
    out = {}
    for spec in specs:
        rng = np.random.default_rng(int(stable_key([seed, spec.name], length=16), 16))
        dtype = np.dtype(spec.dtype)
        shape = tuple(int(d) for d in spec.shape)
        if dtype.kind == "f":
            value = rng.uniform(-1.0, 1.0, shape).astype(dtype)
        elif dtype.kind == "b":
            value = rng.integers(0, 2, shape).astype(bool)
        elif dtype.kind in "iu":
            info = np.iinfo(dtype)
            value = rng.integers(max(info.min, -128), min(info.max, 127), shape, endpoint=True).astype(dtype)
        else:
            raise _fail(f"input {spec.name!r}: no random values for dtype {dtype.name}")
        out[spec.name] = value
    return out


@dataclass(frozen=True)
class InputSet:
    """One set of model inputs and where it came from ("samples.npz", "astronaut.png", "seed 0")."""

    label: str
    arrays: dict[str, np.ndarray]


def choose_inputs(specs: Sequence[InputSpecLike], *, samples: Path | str | None = None,
                  images: Sequence[Path | str] = (), seed: int = 0,
                  value_range: tuple[float, float] = (0.0, 1.0)) -> list[InputSet]:
    """The inputs a run feeds: the user's samples.npz if given, else the images if the model takes one image,
    else one seeded random set."""
    if samples is not None:
        return [InputSet(Path(samples).name, load_npz(samples, specs))]
    if images and len(specs) == 1 and image_layout(specs[0]) is not None:
        spec = specs[0]
        return [InputSet(Path(p).name, {spec.name: image_input(p, spec, value_range=value_range)}) for p in images]
    return [InputSet(f"seed {seed}", random_inputs(specs, seed))]


def specs_from(items: Sequence[InputSpecLike]) -> list[InputSpec]:
    """Plain InputSpec copies of compiled.meta's inputs (or anything with name, shape, dtype)."""
    return [InputSpec(i.name, tuple(int(d) for d in i.shape), str(i.dtype)) for i in items]
