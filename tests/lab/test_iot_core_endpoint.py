"""Results from a board to the user's own AWS IoT Core, without AWS: an IoT Core stand-in (real mosquitto, a CA
of its own, client certificates required, TLS >= 1.2, a port of its own) on the lab network's gateway; a lab file
whose ``iot:`` section names it with the user's certificate, key and CA; the embedded lab's x86_64 core
registered as a board (ssh://, not emulated) whose Greengrass effective configuration names a thing certificate
issued by the stand-in's CA. The shipped deploy scenario's result reaches the harness through that endpoint.

It can only: the core's default thing files (/greengrass/v2/thingCert.crt…) are the embedded lab's, which the
stand-in refuses; the component gets the endpoint and the effective configuration's paths from the harness.
Everything put on the core is removed at the end.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from harness.mqtt.lab import gateway_of
from harness.ondevice import link
from harness.primitives.scratch import make_scratch, remove_scratch
from tests.iot_core_standin import iot_core_standin

REPO = Path(__file__).resolve().parents[2]
CONFIG = "/greengrass/v2/config/effectiveConfig.yaml"
RUN_TIMEOUT = 600
SELECTION = "test_published_outputs_agree_with_the_host_reference"
_INSTALL = """set -eu
src=$1; dst=$2; config=$3
install -d -m 0755 "$dst"
install -o root -g root -m 0644 "$src/device.pem.crt" "$dst/device.pem.crt"
install -o root -g ggc_group -m 0640 "$src/private.pem.key" "$dst/private.pem.key"
install -o root -g root -m 0644 "$src/AmazonRootCA1.pem" "$dst/AmazonRootCA1.pem"
install -o root -g root -m 0644 "$src/effectiveConfig.yaml" "$config"
"""


@pytest.fixture
def iot_core_board(lab, tmp_path: Path):
    spec = next(d for d in lab.lab.spec.devices if d.emulated and lab.lab.profile_of(d).arch == "x86_64")
    core = lab.device(spec.name)
    gateway = gateway_of(lab.network.attrs(lab.docker_client()))
    if core.transport.run(f"sudo -n test -e {CONFIG}", timeout=30).ok:
        pytest.fail(f"{spec.name} already has {CONFIG}: this test would replace it")
    with iot_core_standin(tmp_path / "standin", gateway) as standin:
        user = tmp_path / "user"
        user.mkdir()
        pair = standin.ca.thing("hil-user")
        shutil.copy(pair.cert, user / "hil-user.pem.crt")
        shutil.copy(pair.key, user / "hil-user.private.key")
        shutil.copy(standin.ca.ca.cert, user / "AmazonRootCA1.pem")

        thing = standin.ca.thing("x86-board")
        files = f"/greengrass/v2/hil-iotcore-{secrets.token_hex(4)}"
        staged = tmp_path / "staged"
        staged.mkdir()
        shutil.copy(thing.cert, staged / "device.pem.crt")
        shutil.copy(thing.key, staged / "private.pem.key")
        shutil.copy(standin.ca.ca.cert, staged / "AmazonRootCA1.pem")
        (staged / "effectiveConfig.yaml").write_text(yaml.safe_dump({  # as the nucleus writes it (its system keys)
            "system": {"certificateFilePath": f"{files}/device.pem.crt", "privateKeyPath": f"{files}/private.pem.key",
                       "rootCaPath": f"{files}/AmazonRootCA1.pem", "rootpath": "/greengrass/v2",
                       "thingName": "x86-board"},
            "services": {"aws.greengrass.Nucleus": {"configuration": {
                "iotDataEndpoint": standin.address, "runWithDefault": {"posixUser": "ggc_user:ggc_group"}}}}}))
        remote = make_scratch(core.transport, "iotcore")
        try:
            for path in staged.iterdir():
                core.transport.put(path, f"{remote}/{path.name}", timeout=30)
            core.transport.check(f"sudo -n sh -c {shlex.quote(_INSTALL)} install {remote} {files} {CONFIG}",
                                 timeout=30, step="install thing files")
            lab_file = tmp_path / "iotcore.yaml"
            lab_file.write_text(yaml.safe_dump({
                "lab": "iotcore-board",
                "iot": {"endpoint": standin.endpoint, "cert": "user/hil-user.pem.crt",
                        "key": "user/hil-user.private.key", "ca": "user/AmazonRootCA1.pem"},
                "devices": [{"name": "x86-board", "profile": lab.lab.profile_of(spec).name,
                             "connection": core.connection, "emulated": False,
                             "credentials": {"key": str(lab.key_file), "known_hosts": str(lab.known_hosts)}}]}))
            yield lab_file, standin, lab.iot.credentials(spec.name)
        finally:
            core.transport.run(f"sudo -n rm -rf {shlex.quote(files)} {CONFIG}", timeout=30)
            remove_scratch(core.transport, remote)
            core.transport.close()


def test_a_boards_result_reaches_the_harness_through_the_lab_files_iot_core_endpoint(iot_core_board, tmp_path):
    lab_file, standin, embedded_thing = iot_core_board
    with pytest.raises(link.HandshakeRefused):  # the core's default files cannot reach this endpoint
        link.connect((standin.address, standin.port), link.Credentials(embedded_thing.cert, embedded_thing.key,
                                                                       standin.ca.ca.cert), "embedded", timeout=5)
    start = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--lab", str(lab_file),
                          "--reports", str(tmp_path / "reports"), "--", "-k", SELECTION],
                         capture_output=True, text=True, timeout=RUN_TIMEOUT, cwd=REPO, env=dict(os.environ))
    print(f"\niot core board: hil run -k {SELECTION} took {time.monotonic() - start:.1f} s")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    (results_path,) = (tmp_path / "reports").glob("*/results.json")
    results = json.loads(results_path.read_text())
    assert results["summary"]["passed"] == 1 and results["summary"]["failed"] == 0, results["summary"]
    log = standin.broker.log_tail(200)
    assert "u'x86-board'" in log  # the component connected with the thing certificate its Greengrass config names
    assert "u'hil-user'" in log  # the harness with the user's
    reports = (tmp_path / "reports").rglob("*.xml")
    text = results_path.read_text() + "".join(p.read_text(errors="replace") for p in reports)
    for key in (standin.ca.thing("hil-user").key, standin.ca.thing("x86-board").key):
        assert key.read_text().splitlines()[1] not in text
