"""The wheel's package data from the repository's top level: devices/ and fixtures/ as harness/data/.

The repository keeps devices/ and fixtures/ beside harness/ (the product's layout); an installed harness
finds them inside its own package (harness.resources), and no top-level ``devices`` or ``fixtures``
package ever lands in site-packages. Everything else is configured in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

DATA = ("devices", "fixtures")
#: Byte code and tool caches never ship, whatever a working tree holds.
SKIP = shutil.ignore_patterns("__pycache__", "*.py[cod]", ".pytest_cache", ".hypothesis", ".ruff_cache")


class BuildPyWithData(build_py):
    """build_py, then devices/ and fixtures/ copied into ``<build_lib>/harness/data/``."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads the checkout's own top-level directories
            return
        for name in DATA:
            source = Path(name)
            if not source.is_dir():
                raise SystemExit(f"setup.py: {source.resolve()} is missing: the wheel would have no {name}/")
            target = Path(self.build_lib) / "harness" / "data" / name
            shutil.rmtree(target, ignore_errors=True)  # files removed from the tree leave the wheel too
            shutil.copytree(source, target, ignore=SKIP)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = super().get_outputs(include_bytecode)
        root = Path(self.build_lib) / "harness" / "data"
        return outputs + [str(p) for p in sorted(root.rglob("*")) if p.is_file()] if root.is_dir() else outputs


setup(cmdclass={"build_py": BuildPyWithData})
