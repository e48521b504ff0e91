"""Footprint and start-up of the Greengrass core emulator: start → ready, idle RSS, CLI latency.

Goals (issue): daemon idle RSS ≤ 30 MB, start → ready ≤ 2 s. Run from the repo root:
    .venv/bin/python benchmarks/greengrass_emulator.py [--runs 5]
Prints one line per figure and a JSON summary on the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simulators.greengrass.localcore import LocalCore, recipe, write_recipe  # noqa: E402


def _kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=5, help="start/stop cycles for the start-up figure")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        core = LocalCore(Path(tmp) / "gg")
        starts = []
        for i in range(args.runs):
            starts.append(core.start())
            print(f"start → ready run {i + 1}: {starts[-1]:.3f} s", file=sys.stderr)
            core.stop()
        core.start()
        time.sleep(2)
        pid = core.nucleus_pid()
        idle_rss = _kb(pid, "VmRSS")
        recipes = Path(tmp) / "recipes"
        write_recipe(recipes, recipe("bench.Sleeper", "1.0.0", {"Run": "exec sleep 600"}, config={"k": "v"}))
        dep = core.deploy("--recipeDir", str(recipes), "--merge", "bench.Sleeper=1.0.0")
        assert core.wait_deployment(dep)["status"] == "SUCCEEDED"
        cpu0 = _cpu_seconds(pid)
        time.sleep(3)
        idle_cpu = (_cpu_seconds(pid) - cpu0) / 3 * 100
        busy_rss, hwm = _kb(pid, "VmRSS"), _kb(pid, "VmHWM")
        cli = []
        for _ in range(10):
            t0 = time.monotonic()
            subprocess.run([str(core.root / "bin" / "greengrass-cli"), "component", "list"], check=True,
                           capture_output=True, timeout=15)
            cli.append(time.monotonic() - t0)
        core.stop()
    result = {"start_to_ready_s_median": round(statistics.median(starts), 3),
              "start_to_ready_s_max": round(max(starts), 3),
              "idle_rss_mb": round(idle_rss / 1024, 1), "rss_with_one_component_mb": round(busy_rss / 1024, 1),
              "peak_rss_mb": round(hwm / 1024, 1), "idle_cpu_percent": round(idle_cpu, 2),
              "cli_component_list_s_median": round(statistics.median(cli), 3)}
    print(f"start → ready: median {result['start_to_ready_s_median']} s, max {result['start_to_ready_s_max']} s "
          f"(goal ≤ 2 s)")
    print(f"daemon idle RSS: {result['idle_rss_mb']} MB (goal ≤ 30 MB); with one component: "
          f"{result['rss_with_one_component_mb']} MB; peak {result['peak_rss_mb']} MB; "
          f"idle CPU {result['idle_cpu_percent']} %")
    print(f"greengrass-cli component list: median {result['cli_component_list_s_median']} s")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
