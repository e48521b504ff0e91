"""Fuzz libdlr's compiled.meta reader: any content -> a model or -1 with a one-line ASCII diagnosis.

Hypothesis runs inside a child process that calls CreateDLRModel through ctypes, so a crash in the
C++ reader fails this test with the child's exit status instead of killing pytest.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.compile import compile_model

MODEL = Path(__file__).resolve().parents[2] / "fixtures" / "model" / "tinycnn.onnx"

pytestmark = pytest.mark.slow

CHILD = r"""
import copy, ctypes, json, os, shutil, sys, tempfile
from hypothesis import HealthCheck, given, settings, strategies as st

lib = ctypes.CDLL(sys.argv[1])
lib.DLRGetLastError.restype = ctypes.c_char_p
valid = json.load(open(os.path.join(sys.argv[2], "compiled.meta")))
work = tempfile.mkdtemp()
shutil.copy(os.path.join(sys.argv[2], "compiled.so"), work)

def paths(node, prefix=()):
    yield prefix
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        yield from paths(child, prefix + (key,))

PATHS = [p for p in paths(valid) if p]
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
values = st.recursive(scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c,
                      max_size=3), max_leaves=8)

@st.composite
def metas(draw):
    if draw(st.integers(0, 4)) == 0:
        return draw(st.binary(max_size=200))
    meta = copy.deepcopy(valid)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        node = meta
        try:
            for key in path[:-1]:
                node = node[key]
            if draw(st.booleans()):
                node[path[-1]] = draw(values)
            elif isinstance(node, dict):
                del node[path[-1]]
        except (KeyError, IndexError, TypeError):
            pass
    return json.dumps(meta).encode()

seen = {"ok": 0, "error": 0}

@settings(max_examples=int(sys.argv[3]), deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(metas())
def check(payload):
    with open(os.path.join(work, "compiled.meta"), "wb") as f:
        f.write(payload)
    h = ctypes.c_void_p()
    rc = lib.CreateDLRModel(ctypes.byref(h), work.encode(), 1, 0)
    if rc == 0:
        assert h.value
        assert lib.DeleteDLRModel(ctypes.byref(h)) == 0 and not h.value
        seen["ok"] += 1
    else:
        assert rc == -1, rc
        message = lib.DLRGetLastError().decode("ascii")
        assert message and "\n" not in message, repr(message)
        seen["error"] += 1

check()
print(json.dumps(seen))
"""


def test_any_compiled_meta_gives_a_model_or_a_diagnosis(tmp_path, host_libdlr):
    lib = host_libdlr / "libdlr.so"
    compile_model(MODEL, {"Os": "LINUX", "Arch": "X86_64"}, {"data": [1, 3, 224, 224]}, tmp_path / "model")
    proc = subprocess.run([sys.executable, "-c", CHILD, str(lib), str(tmp_path / "model"), "300"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-3000:]}"
    counts = proc.stdout.strip().splitlines()[-1]
    assert '"error": 0' not in counts, counts  # the strategies reached the error paths
