"""results.json is replaced whole or not at all: a full disk mid-write keeps the previous document."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from harness.report.results_json import write_results

#: In a child with a 64 KiB file-size limit (SIGXFSZ ignored: the write fails with EFBIG, as on a full
#: disk), rewrite results.json with a document of ~1 MiB.
CHILD = """
import resource, signal, sys
from pathlib import Path
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))
from harness.report.results_json import write_results
try:
    write_results(Path(sys.argv[1]), {"schema": "edge-hil/results", "records": ["x" * 1000] * 1000})
except OSError as exc:
    print(exc.errno)
"""


def test_a_failed_rewrite_leaves_the_previous_results_whole(tmp_path: Path) -> None:
    target = tmp_path / "results.json"
    before = {"schema": "edge-hil/results", "run_id": "first", "records": []}
    write_results(target, before)
    child = subprocess.run([sys.executable, "-c", CHILD, str(target)], capture_output=True, text=True, timeout=60,
                           env={"PYTHONPATH": str(Path(__file__).parents[2])})
    assert child.stdout.strip() == "27", child.stderr  # EFBIG: the write did fail midway
    assert json.loads(target.read_text()) == before
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temporary file left behind


def test_write_results_replaces_the_document(tmp_path: Path) -> None:
    target = tmp_path / "run" / "results.json"
    write_results(target, {"run_id": "a"})
    write_results(target, {"run_id": "b", "records": [1, 2]})
    assert json.loads(target.read_text()) == {"run_id": "b", "records": [1, 2]}
