"""`hil greengrass validate|package` end to end through the real `hil` entry point."""

from __future__ import annotations

from harness.cli import main
from harness.greengrass.recipe import read_recipe


def test_package_then_validate(tmp_path, capsys):
    model_dir = tmp_path / "neo"
    model_dir.mkdir()
    (model_dir / "compiled.so").write_bytes(b"\x7fELF" + b"\1" * 32)
    script = tmp_path / "infer.py"
    script.write_text("print('hi')\n")
    out = tmp_path / "store"
    assert main(["greengrass", "package", str(model_dir), "--name", "com.example.Model", "--version", "1.2.0",
                 "--architecture", "arm", "--architecture-detail", "armv7l", "--inference-script", str(script),
                 "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "--merge com.example.Model=1.2.0 --merge com.example.Model.Inference=1.2.0" in printed
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "artifacts/com.example.Model.Inference/1.2.0/infer.py", "artifacts/com.example.Model/1.2.0/model.zip",
        "recipes/com.example.Model-1.2.0.yaml", "recipes/com.example.Model.Inference-1.2.0.yaml"]
    model = read_recipe(out / "recipes" / "com.example.Model-1.2.0.yaml")
    assert model.manifests[0].platform == {"os": "linux", "architecture": "arm", "architecture.detail": "armv7l"}

    bad = tmp_path / "bad.yaml"
    bad.write_text("RecipeFormatVersion: '2020-01-25'\nComponentName: a b\nComponentVersion: 1.0.0\n"
                   "Manifests: [{Lifecycle: {Run: x}}]\n")
    assert main(["greengrass", "validate", str(out / "recipes" / "com.example.Model-1.2.0.yaml"), str(bad)]) == 1
    captured = capsys.readouterr()
    assert "ok com.example.Model@1.2.0" in captured.out
    assert f"{bad}: recipe {bad}: component 'a b': ComponentName 'a b' is not a valid component name" in captured.err


def test_package_bad_name_is_one_line_and_writes_nothing(tmp_path, capsys):
    (tmp_path / "neo").mkdir()
    (tmp_path / "neo" / "compiled.so").write_bytes(b"x")
    assert main(["greengrass", "package", str(tmp_path / "neo"), "--name", "../etc", "--version", "1.0.0",
                 "-o", str(tmp_path / "out")]) == 2
    assert "ComponentName '../etc' is not a valid component name" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
