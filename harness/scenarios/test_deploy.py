"""Deploy: the model and the generic DLR model components deploy through greengrass-cli, run, and log cleanly
(any model: inputs and outputs come from compiled.meta)."""

from __future__ import annotations

import re

from harness.greengrass import steps
from harness.scenarios.conftest import RESULT_WITHIN

PROBLEM_RE = re.compile(r"\bERROR\b|\berror: |Traceback \(most recent call last\)")


def test_components_reach_running(device, deployed, hil_record):
    details = steps.expect_component_state(deployed.client, deployed.inference_name, "RUNNING", within=60)
    assert details.version == deployed.inference.recipe.component_version
    model = deployed.client.component(deployed.model.recipe.component_name)
    assert model.state in ("RUNNING", "FINISHED"), f"model component is {model.state}"
    hil_record.fact("components", {d.name: d.version for d in (details, model)})


def test_inference_logs_a_published_result_and_no_errors(device, deployed, hil_record):
    client, name = deployed.client, deployed.inference_name
    steps.expect_log_line(client, name, r"inference input=.+ outputs=\d+ ms=[0-9.]+ published on ", within=180)
    logs = {f"{n}.log": client.read_log(n, max_bytes=1 << 16) for n in deployed.names}
    ours = "\n".join(line for line in client.read_log("greengrass", max_bytes=1 << 20).splitlines()
                     if any(n in line for n in deployed.names))
    logs["greengrass.log"] = ours
    for log_name, text in logs.items():
        hil_record.log(log_name, text)
    problems = [f"{log_name}: {line}" for log_name, text in logs.items() for line in text.splitlines()
                if PROBLEM_RE.search(line)]
    assert not problems, "error lines in the deployment's logs:\n" + "\n".join(problems[:10])


def test_published_outputs_agree_with_the_host_reference(device, deployed, inference_results, hil_record):
    """One message per input set (each photograph for the detector), checked output by output against the
    user's model on the host, and for the detector, its faces against host LiteRT's and the ground truth."""
    labels = set(deployed.reference)
    with inference_results(deployed.topic) as subscriber:
        messages = subscriber.expect_json(lambda m: m.get("input") in labels, within=RESULT_WITHIN + 30 * len(labels),
                                          device=device.name, count=len(labels))
    by_label = {m["input"]: m for m in messages}
    problems = [p for m in by_label.values() for p in deployed.problems(m)]
    hil_record.fact("outputs", {label: {"ms": m.get("ms"), "encodings": [e["encoding"] for e in m["outputs"]]}
                                for label, m in by_label.items()})
    assert not problems, f"{device.name}: " + "; ".join(problems)
