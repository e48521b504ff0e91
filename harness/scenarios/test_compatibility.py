"""Compatibility: preflight verdicts for every device × artifact of the run (one artifact per Neo target of
the lab). A device's own target passes; an artifact for another architecture fails, saying why."""

from __future__ import annotations

from harness.artifact.elf import read_elf
from harness.artifact.meta import load_meta
from harness.preflight import evaluate, gather_facts
from harness.pytest_plugin import lab_of, selected_devices


def test_preflight_verdicts_for_every_artifact(device, artifacts, hil_record, request):
    lab = lab_of(request.config)
    targets = sorted({lab.profile_of(spec).neo_target for spec in selected_devices(request.config)}
                     | {device.profile.neo_target})
    facts = gather_facts(device.transport)
    verdicts = {}
    for target in targets:
        artifact = artifacts.for_target(target)
        meta = load_meta(artifact.directory)
        verdicts[target] = (meta, evaluate(meta, facts, glibc_required=read_elf(artifact.library).glibc_required))
    hil_record.fact("preflight", {t: [v.as_dict() for v in vs] for t, (_, vs) in verdicts.items()})

    own_meta, own = verdicts[device.profile.neo_target]
    assert all(v.ok for v in own), f"{device.name}: own target {own_meta.target.neo} fails preflight: " + "; ".join(
        f"{v.check}: {v.reason}" for v in own if not v.ok)
    for target, (meta, found) in verdicts.items():
        arch = next(v for v in found if v.check == "arch")
        if meta.target.arch == device.profile.arch:
            assert arch.ok, f"{target}: {arch.reason}"
        else:
            assert not arch.ok and f"model compiled for {meta.target.arch} ({target})" in arch.reason
            assert f"this device is {device.profile.arch}" in arch.reason and arch.advice
