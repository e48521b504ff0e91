"""No device path the harness creates is a fixed, guessable /tmp or /var/tmp name.

Another local user of a shared board can create ``/tmp/hil-x`` first (``mkdir -p`` then succeeds on
their directory) and swap what the harness stages there; harness.primitives.scratch makes private
``mktemp -d`` directories instead. harness/greengrass/ keeps its staging area for now (its own change).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

HARNESS = Path(__file__).resolve().parents[2] / "harness"
FIXED = re.compile(r"/(?:var/)?tmp/hil-")
EXEMPT = ("greengrass",)


def _path_literals(tree: ast.AST) -> list[tuple[int, str]]:
    found: set[tuple[int, str]] = set()  # an f-string's leading part is also a Constant of its own
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        elif isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
            text = str(node.values[0].value)
        else:
            continue
        if FIXED.match(text):
            found.add((node.lineno, text))
    return sorted(found)


def test_no_fixed_scratch_path_outside_greengrass():
    bad = [f"{p.relative_to(HARNESS.parent)}:{line}: {text!r}"
           for p in sorted(HARNESS.rglob("*.py")) if p.relative_to(HARNESS).parts[0] not in EXEMPT
           for line, text in _path_literals(ast.parse(p.read_text(), str(p)))]
    assert not bad, "use harness.primitives.scratch.make_scratch for device scratch directories:\n" + "\n".join(bad)


def test_the_check_sees_a_fixed_path_in_an_f_string():
    assert _path_literals(ast.parse('base = f"/tmp/hil-{scenario}-{run_id}"')) == [(1, "/tmp/hil-")]
    assert _path_literals(ast.parse('msg = "staged under /var/tmp/hil-greengrass"')) == []
