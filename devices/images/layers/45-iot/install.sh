#!/bin/sh
# The IoT side of a core: awscrt and OpenCV in the runtime venv (what the DLR inference component
# imports), and simulators.camera under /opt/hil/lib, importable by the venv through a .pth file, so
# `python -m simulators.camera` over SSH finds it. The component's own code (harness.ondevice) is not
# baked in: it reaches a core as the component's artifacts, as it reaches a real board. The thing
# certificate, key, CA and broker endpoint are installed per container by `hil lab up`
# (harness.mqtt.lab), never baked into the image.
set -eu

py="$HIL_VENV/bin/python"
lib=/opt/hil/lib

install -d -m 0755 "$lib/simulators"
[ -e "$lib/simulators/__init__.py" ] || install -m 0644 simulators/__init__.py "$lib/simulators/__init__.py"
rm -rf "$lib/simulators/camera"
cp -R simulators/camera "$lib/simulators/camera"
find "$lib/simulators/camera" -name __pycache__ -prune -exec rm -rf {} +
chmod -R u=rwX,go=rX "$lib/simulators/camera"
"$py" -m compileall -q "$lib/simulators/camera"

site=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$lib" > "$site/hil-lib.pth"

# Where the camera simulator writes by default and the inference component reads by default:
# the login user writes, everyone (ggc_user) reads.
install -d -m 0755 -o "$HIL_DEVICE_USER" -g "$HIL_DEVICE_USER" /var/lib/hil /var/lib/hil/camera

# Smoke: the modules import on this arch, OpenCV decodes a camera frame.
smoke=$(mktemp -d)
"$py" -m simulators.camera --out "$smoke" --fps 50 --count 2 --ring 2 >/dev/null
"$py" - "$smoke" <<'PY'
import sys
from pathlib import Path
import awscrt.mqtt  # noqa: F401
import cv2
frame = max(Path(sys.argv[1]).glob("frame-*.png"))
assert frame.name == "frame-000002.png", frame
bgr = cv2.imread(str(frame), cv2.IMREAD_COLOR)
assert bgr is not None and bgr.ndim == 3 and bgr.shape[2] == 3, frame
print(f"iot layer: camera frame {frame.name} decodes as {bgr.shape}")
PY
rm -rf "$smoke"
