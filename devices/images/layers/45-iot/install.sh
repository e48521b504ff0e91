#!/bin/sh
# The IoT side of a core: harness.inference (the DLR inference component's code: preprocessing, the
# result payload, the MQTT link) and simulators.camera under /opt/hil/lib, importable by the runtime
# venv through a .pth file, so a Greengrass component's script run with /opt/hil/venv/bin/python and
# `python -m simulators.camera` over SSH both find them. The thing certificate, key, CA and broker
# endpoint are installed per container by `hil lab up` (harness.mqtt.lab), never baked into the image.
set -eu

py="$HIL_VENV/bin/python"
lib=/opt/hil/lib

install -d -m 0755 "$lib/harness" "$lib/simulators"
install -m 0644 harness/__init__.py harness/errors.py "$lib/harness/"
[ -e "$lib/simulators/__init__.py" ] || install -m 0644 simulators/__init__.py "$lib/simulators/__init__.py"
rm -rf "$lib/harness/inference" "$lib/simulators/camera"
cp -R harness/inference "$lib/harness/inference"
cp -R simulators/camera "$lib/simulators/camera"
find "$lib/harness" "$lib/simulators/camera" -name __pycache__ -prune -exec rm -rf {} +
chmod -R u=rwX,go=rX "$lib/harness" "$lib/simulators/camera"
"$py" -m compileall -q "$lib/harness" "$lib/simulators/camera"

site=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$lib" > "$site/hil-lib.pth"

# Where the camera simulator writes by default and the inference component reads by default:
# the login user writes, everyone (ggc_user) reads.
install -d -m 0755 -o "$HIL_DEVICE_USER" -g "$HIL_DEVICE_USER" /var/lib/hil /var/lib/hil/camera

# Smoke: the modules import on this arch, a camera frame goes through the preprocessing.
smoke=$(mktemp -d)
"$py" -m simulators.camera --out "$smoke" --fps 50 --count 2 --ring 2 >/dev/null
"$py" - "$smoke" <<'PY'
import sys
from pathlib import Path
import awscrt.mqtt  # noqa: F401
from harness.inference import component, link, payload  # noqa: F401
from harness.inference.preprocess import load_image, newest_image, preprocess
frame = newest_image(Path(sys.argv[1]))
assert frame is not None and frame.name == "frame-000002.png", frame
x = preprocess(load_image(frame))
assert x.shape == (1, 3, 224, 224), x.shape
print(f"iot layer: camera frame {frame.name} -> model input {x.shape}")
PY
rm -rf "$smoke"
