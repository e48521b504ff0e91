"""Every row of docs/greengrass-conformance.md has its lab test, cites a real source and says how the
emulator stands; every lab conformance test is a row."""

from __future__ import annotations

import re
from pathlib import Path

from tests.lab.test_greengrass_conformance import ROWS
from tests.lab.test_greengrass_conformance_lifecycle import LIFECYCLE_ROWS
from tests.lab.test_greengrass_conformance_samples import SAMPLE_ROWS

DOC = Path(__file__).resolve().parents[2] / "docs" / "greengrass-conformance.md"
ROW_RE = re.compile(r"^\| `(?P<row>[a-z0-9-]+)` \| (?P<what>[^|]+) \| (?P<source>[^|]+) \| (?P<status>[^|]+) \| "
                    r"(?P<test>[LSC]) \|$", re.MULTILINE)


def test_every_row_has_a_test_a_source_and_a_status():
    rows = {m.group("row"): m for m in ROW_RE.finditer(DOC.read_text())}
    tests = {**dict.fromkeys(ROWS, "L"), **dict.fromkeys(SAMPLE_ROWS, "S"), **dict.fromkeys(LIFECYCLE_ROWS, "C")}
    assert len(tests) == len(ROWS) + len(SAMPLE_ROWS) + len(LIFECYCLE_ROWS)  # no row tested twice
    assert set(rows) == set(tests)
    for name, row in rows.items():
        assert row.group("test") == tests[name], name
        assert re.search(r"\.java(:\d+)?", row.group("source")), f"{name}: no source file cited"
        assert row.group("status").strip().startswith(("same", "differs", "not emulated")), name
