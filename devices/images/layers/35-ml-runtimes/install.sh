#!/bin/sh
# ONNX Runtime and LiteRT must import on this arch: a wheel that does not load fails the image build here,
# not a benchmark later. (Only the import: LiteRT's kernels read /proc/cpuinfo, and during an arm64 build
# that is still the host's x86 one; the running core gets an arm64 one bind-mounted, see harness/lab/cores.py.)
set -eu
"$HIL_VENV/bin/python" -c 'import onnxruntime as ort; print("onnxruntime", ort.__version__, ort.get_available_providers())'
"$HIL_VENV/bin/python" -c 'import ai_edge_litert.interpreter, ai_edge_litert as lrt; print("ai-edge-litert", lrt.__version__)'
