"""Every row of docs/greengrass-conformance.md has its lab test, cites a real source and says how the
emulator stands; every lab conformance test is a row."""

from __future__ import annotations

import re
from pathlib import Path

from tests.lab.test_greengrass_conformance import ROWS
from tests.lab.test_greengrass_conformance_samples import SAMPLE_ROWS

DOC = Path(__file__).resolve().parents[2] / "docs" / "greengrass-conformance.md"
ROW_RE = re.compile(r"^\| `(?P<row>[a-z0-9-]+)` \| (?P<what>[^|]+) \| (?P<source>[^|]+) \| (?P<status>[^|]+) \| "
                    r"(?P<test>[LS]) \|$", re.MULTILINE)


def test_every_row_has_a_test_a_source_and_a_status():
    rows = {m.group("row"): m for m in ROW_RE.finditer(DOC.read_text())}
    assert set(rows) == set(ROWS) | set(SAMPLE_ROWS)
    for name, row in rows.items():
        assert row.group("test") == ("L" if name in ROWS else "S"), name
        assert re.search(r"\.java(:\d+)?", row.group("source")), f"{name}: no source file cited"
        assert row.group("status").strip().startswith(("same", "differs", "not emulated")), name
