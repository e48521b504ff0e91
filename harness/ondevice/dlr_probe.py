"""The DLR on this device: the wrapper's version, the libdlr.so it would load and its GetDLRVersion().

Never imports the ``dlr`` package (its import phones home, with no timeout): loads the wrapper's
metadata.py and libpath.py on their own, finds libdlr.so as the wrapper would, and asks it. Prints
one JSON object (``version``, ``wrapper``, ``libdlr``, or ``error`` saying why not); exits 0.
"""

from __future__ import annotations

import ctypes
import importlib.util
import json
import os
import sys


def _load(pkg: str, name: str):
    spec = importlib.util.spec_from_file_location("_hil_" + name, os.path.join(pkg, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def probe() -> dict[str, str]:
    out: dict[str, str] = {}
    spec = importlib.util.find_spec("dlr")
    if spec is None or not spec.submodule_search_locations:
        out["error"] = "the dlr Python package is not installed"
        return out
    pkg = list(spec.submodule_search_locations)[0]
    try:
        out["wrapper"] = _load(pkg, "metadata").VERSION
        path = _load(pkg, "libpath").find_lib_path(use_default_dlr=True)
        path = path[0] if isinstance(path, list) else path
        out["libdlr"] = path
        lib = ctypes.CDLL(path)
        version = ctypes.c_char_p()
        if lib.GetDLRVersion(ctypes.byref(version)) != 0:
            out["error"] = "GetDLRVersion failed"
        else:
            out["version"] = version.value.decode("ascii", "replace")
    except Exception as exc:  # noqa: BLE001 - any failure to load is the answer
        out["error"] = (type(exc).__name__ + ": " + str(exc)).splitlines()[0][:300]
    return out


def main() -> int:
    print(json.dumps(probe()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
