"""Real compiles of the bundled CNN (TVM, g++ and the Debian cross g++), run against ONNX Runtime.

Each target compiles once per session (module fixture over a private cache); the rest reuses it.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
import tvm
from onnx import TensorProto, helper
from tvm import relax

from harness.artifact import SO_NAME, inspect_artifact, read_elf
from harness.artifact.meta import ArtifactError
from harness.artifact.package import Artifact
from harness.compile import CompileError, InputConfigError, UnsupportedOperatorError, compile_model, tvm_backend
from harness.compile import cli as compile_cli
from harness.compile.bundled import BUNDLED_INPUT_CONFIG, BUNDLED_MODEL, compile_bundled

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("compile-cache")


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory, cache_dir):
    out = tmp_path_factory.mktemp("artifacts")
    before = tvm_backend.COMPILES
    built = {t: compile_bundled(t, out, cache_dir=cache_dir) for t in ("ml_c4", "rasp4b")}
    assert tvm_backend.COMPILES == before + 2
    return built


def _host_has(features):
    flags = Path("/proc/cpuinfo").read_text().split()
    return all(f in flags for f in features)


def test_ml_c4_runs_on_this_host_like_onnx_runtime(artifacts):
    art = artifacts["ml_c4"]
    if not _host_has(art.meta.target.cpu_features):
        pytest.skip(f"this CPU lacks {art.meta.target.cpu_features}: ml_c4 code would die with SIGILL")
    vm = relax.VirtualMachine(tvm.runtime.load_module(str(art.library)), tvm.cpu())
    session = ort.InferenceSession(str(BUNDLED_MODEL), providers=["CPUExecutionProvider"])
    reference = json.loads((FIXTURES / "model" / "reference.json").read_text())["outputs"]
    from fixtures.model.make_model import preprocess

    for png, ref in reference.items():
        x = preprocess(cv2.imread(str(FIXTURES / "images" / png)))
        got = vm[art.meta.runtime.entry](tvm.runtime.tensor(x)).numpy()
        (want,) = session.run(None, {"data": x})
        assert got.shape == tuple(art.meta.outputs[0].shape) == want.shape
        assert np.max(np.abs(got - want)) <= 1e-4
        assert int(np.argmax(got)) == int(np.argmax(want)) == ref["top1"]


def test_meta_records_the_truth(artifacts):
    meta = artifacts["ml_c4"].meta
    assert meta.model.name == "tinycnn" and meta.model.framework == "onnx"
    assert [(i.name, i.shape, i.dtype) for i in meta.inputs] == [("data", [1, 3, 224, 224], "float32")]
    assert [(o.name, o.shape) for o in meta.outputs] == [("output0", [1, 10])]
    assert tvm.__version__.startswith(meta.compiler.tvm) and meta.runtime.dlr_abi == "tvm-" + ".".join(
        tvm.__version__.split(".")[:2])
    assert meta.files[SO_NAME].size == artifacts["ml_c4"].library.stat().st_size


def test_rasp4b_is_aarch64_and_inspects_on_x86(artifacts):
    art = artifacts["rasp4b"]
    assert read_elf(art.library).arch == "aarch64"
    ins = inspect_artifact(art.directory)
    assert ins.ok, ins.checks
    assert ins.elf[SO_NAME].machine == "EM_AARCH64" and ins.meta.target.tvm.mcpu == "cortex-a72"


def test_target_platform_armhf_with_compiler_options(cache_dir, tmp_path):
    art = compile_model(BUNDLED_MODEL, '{"Os":"LINUX","Arch":"ARM_EABIHF"}', BUNDLED_INPUT_CONFIG, tmp_path / "hf",
                        compiler_options="{'mattr': ['+neon']}", cache_dir=cache_dir)
    elf = read_elf(art.library)
    assert (elf.arch, elf.elf_class) == ("armv7l", 32)
    assert art.meta.target.neo == "LINUX_ARM_EABIHF" and art.meta.target.tvm.mfloat_abi == "hard"
    assert inspect_artifact(art.directory).ok


def test_second_identical_request_compiles_nothing(artifacts, cache_dir, tmp_path):
    before = tvm_backend.COMPILES
    again = compile_model(BUNDLED_MODEL, "rasp4b", "[[1,3,224,224]]", tmp_path / "again", cache_dir=cache_dir)
    assert tvm_backend.COMPILES == before
    assert again.library.read_bytes() == artifacts["rasp4b"].library.read_bytes()
    assert Artifact.open(again.directory) == again


def test_cache_hit_in_a_fresh_process_never_imports_tvm(artifacts, cache_dir, tmp_path):
    """xdist workers and `hil` commands that find their artifact cached must not pay TVM's import."""
    probe = ("import sys; from harness.compile import compile_model; "
             "from harness.compile.bundled import BUNDLED_INPUT_CONFIG, BUNDLED_MODEL; "
             f"compile_model(BUNDLED_MODEL, 'rasp4b', BUNDLED_INPUT_CONFIG, {str(tmp_path / 'hit')!r}, "
             f"cache_dir={str(cache_dir)!r}); print(sorted(m for m in sys.modules if m.split('.')[0] == 'tvm'))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]"
    assert (tmp_path / "hit" / SO_NAME).read_bytes() == artifacts["rasp4b"].library.read_bytes()


def test_unknown_mcpu_is_refused_before_compiling(cache_dir, tmp_path):
    before = tvm_backend.COMPILES
    with pytest.raises(CompileError, match="mcpu 'pentium-9000' is not a CPU LLVM knows"):
        compile_model(BUNDLED_MODEL, "rasp4b", BUNDLED_INPUT_CONFIG, tmp_path / "out", cache_dir=cache_dir,
                      compiler_options={"mcpu": "pentium-9000"})
    assert tvm_backend.COMPILES == before and not any(cache_dir.rglob(".*-*"))


def test_no_cache_compiles_again_and_leaves_the_cache_alone(artifacts, cache_dir, tmp_path):
    entries = sorted(p for p in cache_dir.rglob("*") if p.is_file())
    before = tvm_backend.COMPILES
    art = compile_model(BUNDLED_MODEL, "rasp4b", BUNDLED_INPUT_CONFIG, tmp_path / "fresh", cache_dir=cache_dir,
                        use_cache=False)
    assert tvm_backend.COMPILES == before + 1 and inspect_artifact(art.directory).ok
    assert sorted(p for p in cache_dir.rglob("*") if p.is_file()) == entries


def test_input_config_errors_stop_before_compiling(cache_dir, tmp_path):
    before = tvm_backend.COMPILES
    for cfg, text in [({"input0": [1, 3, 224, 224]}, 'input "input0" not found'),
                      ({"data": [1, 3, 224]}, "rank 4"), ({"data": [1, 3, 224, 225]}, "dimension 3")]:
        with pytest.raises(InputConfigError, match=text):
            compile_model(BUNDLED_MODEL, "ml_c4", cfg, tmp_path / "out", cache_dir=cache_dir)
    assert tvm_backend.COMPILES == before and not (tmp_path / "out").exists()


def test_custom_operator_is_reported_the_way_neo_does(cache_dir, tmp_path):
    node = helper.make_node("MyCustomOp", ["data"], ["y"], domain="com.example.custom")
    graph = helper.make_graph([helper.make_node("Relu", ["data"], ["r"]), node], "custom",
                              [helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                    helper.make_opsetid("com.example.custom", 1)])
    path = tmp_path / "custom.onnx"
    onnx.save(model, path)
    with pytest.raises(UnsupportedOperatorError) as err:
        compile_model(path, "ml_c4", {"data": [1, 4]}, tmp_path / "out", cache_dir=cache_dir)
    assert err.value.detail == ("ClientError: InputConfiguration: TVM cannot convert ONNX model. "
                                "The following operators are not implemented: {'MyCustomOp'}")
    assert err.value.failure_class == "unsupported-operator"


def test_runtime_lib_of_the_wrong_arch_is_refused(cache_dir, tmp_path):
    lib = tmp_path / "libdlr.so"
    lib.write_bytes(Path("/usr/aarch64-linux-gnu/lib/libc.so.6").read_bytes())
    with pytest.raises(ArtifactError, match="built for aarch64, the model for x86_64"):
        compile_model(BUNDLED_MODEL, "ml_c4", BUNDLED_INPUT_CONFIG, tmp_path / "out", cache_dir=cache_dir,
                      runtime_libs=[lib])


def _cli(argv):
    parser = argparse.ArgumentParser(prog="hil")
    compile_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_compile_then_inspect_json_and_tamper(artifacts, cache_dir, tmp_path, capsys):
    out = tmp_path / "art"
    assert _cli(["compile", str(BUNDLED_MODEL), "--target", "rasp4b", "--input-config", '{"data":[1,3,224,224]}',
                 "-o", str(out), "--cache-dir", str(cache_dir)]) == 0
    captured = capsys.readouterr()
    assert "cache hit" in captured.err and str(out) in captured.out
    assert _cli(["inspect", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["elf"][SO_NAME]["arch"] == "aarch64"
    with open(out / SO_NAME, "ab") as fh:
        fh.write(b"\0")
    assert _cli(["inspect", str(out)]) == 1
    assert "FAIL file:compiled.so" in capsys.readouterr().out


def test_hil_main_reports_errors_in_one_line(tmp_path, capsys):
    from harness.cli import main

    assert main(["inspect", str(tmp_path / "absent")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hil: inspect: [artifact]") and "Traceback" not in err
    assert main(["compile", str(BUNDLED_MODEL), "--target", "ml_c45", "--input-config", "[[1,3,224,224]]",
                 "-o", str(tmp_path / "out")]) == 2
    assert "unknown target 'ml_c45'" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_unwritable_output_or_cache_is_a_compile_error(artifacts, cache_dir, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(CompileError, match="cannot create output directory"):
        compile_model(BUNDLED_MODEL, "rasp4b", BUNDLED_INPUT_CONFIG, blocker / "out", cache_dir=cache_dir)
    with pytest.raises(CompileError, match="cannot write") as err:
        compile_model(BUNDLED_MODEL, "rasp4b", BUNDLED_INPUT_CONFIG, tmp_path / "out", cache_dir=blocker / "cache")
    assert "HIL_COMPILE_CACHE" in err.value.advice


def test_inspect_with_preflight_on_a_local_lab_device(artifacts, tmp_path, capsys):
    import sys

    from harness.cli import main

    lab = tmp_path / "lab.yaml"
    lab.write_text("lab: bench\ndevices:\n  - name: controller\n    profile: ml_c4\n    connection: local://\n")
    common = ["--device", "controller", "--lab", str(lab), "--python", sys.executable, "--json"]
    code = main(["inspect", str(artifacts["rasp4b"].directory), *common])
    doc = json.loads(capsys.readouterr().out)
    checks = {c["check"]: c for c in doc["preflight"]["checks"]}
    assert doc["ok"]  # the artifact itself is consistent
    if platform.machine() == "x86_64":
        assert code == 1 and not doc["preflight"]["ok"]
        assert checks["arch"]["reason"].startswith("model compiled for aarch64 (rasp4b), this device is x86_64")
        assert set(checks) == {"arch", "runtime", "memory"}  # nothing else matters until it can load
    main(["inspect", str(artifacts["ml_c4"].directory), *common])
    checks = {c["check"]: c for c in json.loads(capsys.readouterr().out)["preflight"]["checks"]}
    assert checks["arch"]["ok"] and checks["memory"]["ok"]


def test_compile_into_an_earlier_artifact_leaves_none_of_its_runtime_libs(artifacts, cache_dir, tmp_path, capsys):
    out = tmp_path / "art"
    lib = tmp_path / "libdlr.so"  # an aarch64 ELF standing in for the rasp4b build of libdlr
    lib.write_bytes(Path("/usr/aarch64-linux-gnu/lib/libc.so.6").read_bytes())
    compile_model(BUNDLED_MODEL, "rasp4b", BUNDLED_INPUT_CONFIG, out, cache_dir=cache_dir, runtime_libs=[lib])
    assert (out / "libdlr.so").is_file()
    assert _cli(["compile", str(BUNDLED_MODEL), "--target", "ml_c4", "--input-config", '{"data":[1,3,224,224]}',
                 "-o", str(out), "--cache-dir", str(cache_dir)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["compiled.meta", "compiled.so"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["art", "libdlr.so"]  # no temporary directory left
    capsys.readouterr()
    assert _cli(["inspect", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["meta"]["target"]["neo"] == "ml_c4"


def test_compile_refuses_to_replace_a_directory_that_is_not_an_artifact(cache_dir, tmp_path):
    out = tmp_path / "project"
    out.mkdir()
    (out / "train.py").write_text("# the user's work\n")
    with pytest.raises(ArtifactError, match="not an artifact directory"):
        compile_model(BUNDLED_MODEL, "ml_c4", BUNDLED_INPUT_CONFIG, out, cache_dir=cache_dir)
    assert [p.name for p in out.iterdir()] == ["train.py"]
