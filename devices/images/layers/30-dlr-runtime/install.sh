#!/bin/sh
# Install the project's libdlr where the unmodified PyPI dlr wrapper finds it (dlr/libpath.py:
# sys.prefix/dlr first, after the model directory), and switch off dlr's phone-home before
# anything imports dlr (it sends HTTP to an AWS endpoint with no timeout).
set -eu

py="$HIL_VENV/bin/python"
pkg=$("$py" -c 'import importlib.util, os; print(os.path.dirname(importlib.util.find_spec("dlr").origin))')
printf '{"enable_phone_home": false}\n' > "$pkg/counter/ccm_config.json"
chmod 0644 "$pkg/counter/ccm_config.json"

prefix=$("$py" -c 'import sys; print(sys.prefix)')
install -d -m 0755 "$prefix/dlr"
install -m 0755 libdlr.so libtvm_runtime.so libtvm_ffi.so "$prefix/dlr/"

# The wrapper must resolve this library, and the library (with its TVM runtime) must load on this
# arch: a wrong-arch or unresolved build fails the image build here, not a test later.
"$py" - <<'PY'
import ctypes, os, sys
from dlr.counter.phone_home import PhoneHome
from dlr.libpath import find_lib_path
assert not PhoneHome.is_enabled(), "dlr phone-home is still enabled"
path = find_lib_path()
expected = os.path.join(sys.prefix, "dlr", "libdlr.so")
assert os.path.samefile(path, expected), f"dlr wrapper resolves {path}, expected {expected}"
lib = ctypes.CDLL(path)
version = ctypes.c_char_p()
assert lib.GetDLRVersion(ctypes.byref(version)) == 0
print(f"libdlr {version.value.decode()} at {path}")
PY
