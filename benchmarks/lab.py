"""Lab figures for this machine: image builds, core start → sshd ready, exec round trip, SFTP vs scp.

    python benchmarks/lab.py [--cold]

--cold removes the amd64 images first and rebuilds them from debootstrap (about a minute); without
it the image figures are the cached path. Runs on a scratch lab beside the embedded one.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

from harness.lab.bringup import LabController
from harness.lab.images import base_tag, ensure_core
from harness.lab.inventory import load_lab
from harness.primitives.progress import say

EXECS = 200
BLOB_MB = 20


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cold", action="store_true", help="rebuild the amd64 images from nothing first")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hil-bench-"))
    lab_file = work / "bench.yaml"
    lab_file.write_text(yaml.safe_dump({"lab": "bench", "devices": [
        {"name": "core-a", "profile": "ml_c4", "emulated": True}]}))
    controller = LabController(load_lab(lab_file), say)
    controller.down()
    controller.up()  # engine, images, network: what the figures below do not measure
    client = controller.docker_client()
    rows: list[tuple[str, str]] = []

    if args.cold:
        for image in client.images.list():
            if any(t.startswith(("hil-core:amd64-", base_tag("amd64"))) for t in image.tags):
                client.images.remove(image.id, force=True)
        controller.down()
        rows.append(("image build, cold (debootstrap + layers, amd64)",
                     f"{timed(lambda: ensure_core(controller.docker_client(), 'amd64', {}, say)):.1f} s"))
    rows.append(("image build, cached (amd64)", f"{timed(lambda: ensure_core(client, 'amd64', {}, say)):.2f} s"))

    controller.down()
    rows.append(("lab up: container start → sshd ready, host key pinned (amd64)", f"{timed(controller.up):.2f} s"))

    device = controller.device("core-a")
    transport = device.transport
    transport.run("true")
    samples = []
    for _ in range(EXECS):
        start = time.perf_counter()
        transport.run("true")
        samples.append((time.perf_counter() - start) * 1000)
    rows.append((f"paramiko exec round trip, `true` (n={EXECS}, TCP_NODELAY)",
                 f"p50 {statistics.median(samples):.2f} ms, p90 {statistics.quantiles(samples, n=10)[8]:.2f} ms"))

    blob = work / "blob.bin"
    blob.write_bytes(os.urandom(BLOB_MB << 20))
    sftp_s = min(timed(lambda: transport.put(blob, "/tmp/blob.bin", timeout=120)) for _ in range(3))
    host = device.connection.split("@")[1].split(":")[0]
    scp = ["scp", "-q", "-i", str(controller.key_file), "-o", f"UserKnownHostsFile={controller.known_hosts}",
           "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", str(blob), f"hil@{host}:/tmp/blob-scp.bin"]
    scp_s = min(timed(lambda: subprocess.run(scp, check=True, timeout=120)) for _ in range(3))
    rows.append((f"SFTP put {BLOB_MB} MB (paramiko)", f"{BLOB_MB / sftp_s:.0f} MB/s"))
    rows.append((f"scp put {BLOB_MB} MB (OpenSSH binary)", f"{BLOB_MB / scp_s:.0f} MB/s"))
    rows.append(("SFTP / scp throughput ratio (goal ≥ 0.8)", f"{scp_s / sftp_s:.2f}"))
    transport.close()
    controller.down()

    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
