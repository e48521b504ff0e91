"""The reliability table of docs/reliability.md, measured: runs tests/lab/test_reliability.py on one core and prints
one row per fault (what held, what was lost, seconds per phase) from the run's results.json.

    python benchmarks/reliability.py [--device ml-c4-emu] [--nightly] [--lab FILE]

Run as root under the lab lock (the faults need iptables and tc). ``--nightly`` adds the single-fault runs and
the clean baseline (HIL_NIGHTLY=1).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def rows(results: dict) -> list[str]:
    out = []
    for record in results["records"]:
        for name, fact in sorted(record["facts"].items()):
            if not name.startswith("reliability: "):
                continue
            seconds = ", ".join(f"{k} {v:.1f} s" for k, v in fact["seconds"].items())
            lost = fact.get("lost") or "nothing"
            out.append(f"| {fact['fault']} | {fact['held']} | {lost} | {seconds} |")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="ml-c4-emu")
    parser.add_argument("--lab", default=None)
    parser.add_argument("--nightly", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "results.json"
        argv = [sys.executable, "-m", "pytest", "tests/lab/test_reliability.py", "-q", "-p", "no:cacheprovider",
                "--durations=0", "--device", args.device, "--hil-results", str(out),
                *(["--lab", args.lab] if args.lab else [])]
        env = {**os.environ, **({"HIL_NIGHTLY": "1"} if args.nightly else {})}
        code = subprocess.run(argv, cwd=REPO, env=env, check=False).returncode
        print("| fault | what held | lost | time |\n|---|---|---|---|")
        print("\n".join(rows(json.loads(out.read_text()))))
    return code


if __name__ == "__main__":
    sys.exit(main())
