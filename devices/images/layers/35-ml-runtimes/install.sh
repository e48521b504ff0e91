#!/bin/sh
# ONNX Runtime must import on this arch: a wheel that does not load fails the image build here,
# not a benchmark later.
set -eu
"$HIL_VENV/bin/python" -c 'import onnxruntime as ort; print("onnxruntime", ort.__version__, ort.get_available_providers())'
