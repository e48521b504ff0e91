"""Fixtures of the shipped scenarios: the model under test, its artifacts per Neo target, deployments.

``--model PATH --input-config JSON [--inputs samples.npz]`` choose the model (default: the shipped
BlazeFace detector on photographs; ``--model tinycnn``: the project's small CNN) and its inputs (else
the fixture images for an image model, else seeded random inputs); ``--reference-model`` adds the version it
replaces (scenario versus). Each Neo target is compiled once
per session through the compile cache, so xdist workers and later runs hit the cache. Deployments
are made once per device per module and removed when the module ends.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from harness.compile.bundled import IMAGES_DIR
from harness.greengrass.builders import unique_name
from harness.mqtt.acl import thing_topic
from harness.primitives.scratch import make_scratch, remove_scratch
from harness.pytest_plugin import lab_of, selected_devices

if TYPE_CHECKING:
    from harness.artifact.package import Artifact
    from harness.greengrass.artifacts import Component
    from harness.greengrass.client import GreengrassClient
    from harness.lab.device import Device
    from harness.models.samples import InputSet
    from harness.mqtt.route import ResultsRoute

IMAGES = IMAGES_DIR
#: arm64 cores start python + numpy + OpenCV + the TVM runtime under qemu-user.
DEPLOY_WITHIN = 240.0
RESULT_WITHIN = 180.0


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hil")
    group.addoption("--model", default=None, metavar="PATH",
                    help="model the scenarios compile and deploy, or a shipped workload: blazeface (the default: "
                         "MediaPipe's face detector on photographs) or tinycnn (the project's small CNN)")
    group.addoption("--input-config", default=None, metavar="JSON",
                    help='DataInputConfig of --model, e.g. \'{"data": [1,3,224,224]}\'')
    group.addoption("--inputs", type=Path, default=None, metavar="NPZ",
                    help="the model's inputs: one array per input name (numpy.savez), fed on the devices and "
                         "to the host reference")
    group.addoption("--reference-model", default=None, metavar="PATH",
                    help="the model version --model replaces (a path, or blazeface/tinycnn): both are measured on "
                         "every device and judged against each other (scenario versus)")
    group.addoption("--reference-input-config", default=None, metavar="JSON",
                    help="DataInputConfig of --reference-model (default: the --model's)")
    for flag, default, what in (("--max-latency-ratio", 1.10, "p50 of --model / p50 of --reference-model"),
                                ("--max-memory-ratio", 1.10, "peak RSS of --model / that of --reference-model"),
                                ("--min-agreement", 1.0, "share of input sets on which --model's device outputs "
                                                         "agree with --reference-model on the host")):
        group.addoption(flag, type=float, default=default, metavar="X",
                        help=f"model against model: {what}, {'at least' if 'min' in flag else 'at most'} X "
                             f"(default {default:g})")


@dataclass(frozen=True)
class ScenarioModel:
    path: Path
    input_config: Any  # parsed DataInputConfig JSON: {name: shape} or [shape, ...]
    bundled: bool
    samples: Path | None = None
    detector: bool = False  # the shipped BlazeFace: photographs in, detections checked


def _shipped(flag: str, name: str, samples: Path | None) -> ScenarioModel:
    from harness.errors import HilError
    from harness.scenarios import workloads

    try:
        w = workloads.workload(name)
    except HilError as exc:
        raise pytest.UsageError(f"{flag} {name}: {exc.detail} ({exc.advice})") from None
    return ScenarioModel(w.model, w.input_config, bundled=name == "tinycnn", samples=samples,
                         detector=name == "blazeface")


def scenario_model_of(config: pytest.Config) -> ScenarioModel:
    """The run's model; a bad option is a one-line usage error before any test runs."""
    samples = config.getoption("--inputs")
    if samples is not None and not samples.is_file():
        raise pytest.UsageError(f"--inputs {samples}: no such file")
    samples = samples.resolve() if samples is not None else None
    return _model("--model", config.getoption("--model"), config.getoption("--input-config"), samples)


def reference_model_of(config: pytest.Config) -> ScenarioModel | None:
    """``--reference-model`` (None without it); its DataInputConfig defaults to the run model's."""
    name = config.getoption("--reference-model")
    if name is None:
        if config.getoption("--reference-input-config") is not None:
            raise pytest.UsageError("--reference-input-config needs --reference-model")
        return None
    from harness.models.errors import ModelWorkloadError
    from harness.models.versus import Thresholds

    try:
        Thresholds(*versus_threshold_values(config))
    except ModelWorkloadError as exc:
        raise pytest.UsageError(f"model against model: {exc.detail}") from None
    text = config.getoption("--reference-input-config")
    if text is None and not _shipped_name(name):
        text = json.dumps(scenario_model_of(config).input_config)
    return _model("--reference-model", name, text, scenario_model_of(config).samples)


def versus_threshold_values(config: pytest.Config) -> tuple[float, float, float]:
    return tuple(config.getoption(f) for f in ("--max-latency-ratio", "--max-memory-ratio", "--min-agreement"))


def _shipped_name(name: str | None) -> bool:
    from harness.scenarios import workloads

    return name is None or name in workloads.NAMES


def _model(flag: str, name: str | None, text: str | None, samples: Path | None) -> ScenarioModel:
    from harness.scenarios import workloads

    config_flag = "--input-config" if flag == "--model" else "--reference-input-config"
    if _shipped_name(name):
        if text is not None:
            raise pytest.UsageError(f"{config_flag} needs {flag} PATH (a shipped workload has its own)")
        return _shipped(flag, name or workloads.NAMES[0], samples)
    path = Path(name)
    if text is None:
        raise pytest.UsageError(f"{flag} needs {config_flag}, e.g. {config_flag} '{{\"data\": [1,3,224,224]}}'")
    if not path.is_file():
        raise pytest.UsageError(f"{flag} {path}: no such file")
    from harness.compile.input_config import parse_input_config
    from harness.errors import HilError

    try:
        parse_input_config(text)
    except HilError as exc:
        raise pytest.UsageError(f"{config_flag}: {exc.detail}") from None
    return ScenarioModel(path.resolve(), json.loads(text), bundled=False, samples=samples,
                         detector=workloads.is_detector(path))


def pytest_configure(config: pytest.Config) -> None:
    scenario_model_of(config)  # fail at start-up, not in the first compile
    reference_model_of(config)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """The model-against-model scenario runs only when a run names the model to compare with."""
    if collection_path.name == "test_versus.py" and config.getoption("--reference-model") is None:
        return True
    return None


def pytest_sessionstart(session: pytest.Session) -> None:
    """With xdist, compile each selected device's Neo target here, once, before the workers start.

    Otherwise every worker would find the cache empty and compile the same target at the same time.
    A compile error is left to the compile tests, which report it with its diagnosis.
    """
    config = session.config
    if hasattr(config, "workerinput") or not config.pluginmanager.has_plugin("dsession"):
        return
    import tempfile

    from harness.compile.api import compile_model, stderr_progress
    from harness.errors import HilError

    lab = lab_of(config)
    models = [m for m in (scenario_model_of(config), reference_model_of(config)) if m is not None]
    targets = sorted({lab.profile_of(d).neo_target for d in selected_devices(config)})
    with tempfile.TemporaryDirectory(prefix="hil-precompile-") as out:
        for n, model in enumerate(models):
            for target in targets:
                try:
                    compile_model(model.path, target, model.input_config, Path(out) / f"{n}-{target}",
                                  progress=stderr_progress)
                except HilError as exc:
                    stderr_progress(f"{target}: {exc.detail} (the compile tests report it)")


class Artifacts:
    """One compile per Neo target per session; ``builds`` counts compiles that ran TVM (cache misses),
    ``origin[target]`` says whether this process built the target's artifact or found it cached."""

    def __init__(self, model: ScenarioModel, root: Path) -> None:
        self.model, self.root = model, root
        self.builds = 0
        self.origin: dict[str, str] = {}
        self._by_target: dict[str, Artifact] = {}

    def _progress(self, message: str) -> None:
        # compile_model reports "building for <target>" only when it runs TVM.
        if message.startswith("building for "):
            self.builds += 1

    def compile(self, neo_target: str, output_dir: Path, input_config: Any = None) -> Artifact:
        from harness.compile.api import compile_model

        config = self.model.input_config if input_config is None else input_config
        return compile_model(self.model.path, neo_target, config, output_dir, progress=self._progress)

    def for_target(self, neo_target: str) -> Artifact:
        if neo_target not in self._by_target:
            builds = self.builds
            self._by_target[neo_target] = self.compile(neo_target, self.root / neo_target)
            self.origin[neo_target] = "built" if self.builds > builds else "compile cache"
        return self._by_target[neo_target]


@pytest.fixture(scope="session")
def scenario_model(request: pytest.FixtureRequest) -> ScenarioModel:
    return scenario_model_of(request.config)


@pytest.fixture(scope="session")
def artifacts(scenario_model: ScenarioModel, tmp_path_factory: pytest.TempPathFactory) -> Artifacts:
    return Artifacts(scenario_model, tmp_path_factory.mktemp("artifacts"))


@pytest.fixture
def artifact(device: Device, artifacts: Artifacts) -> Artifact:
    """The run's model compiled for the device's Neo target."""
    return artifacts.for_target(device.profile.neo_target)


@pytest.fixture(scope="session")
def reference_artifacts(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Artifacts | None:
    """``--reference-model`` compiled per Neo target, as ``artifacts`` is for ``--model`` (None without it)."""
    model = reference_model_of(request.config)
    return Artifacts(model, tmp_path_factory.mktemp("reference-artifacts")) if model is not None else None


@pytest.fixture(scope="session")
def versus_thresholds(request: pytest.FixtureRequest) -> Any:
    from harness.models.versus import Thresholds

    return Thresholds(*versus_threshold_values(request.config))


def input_sets(artifact: Artifact, model: ScenarioModel) -> list[InputSet]:
    """What the devices and the host reference are fed: the user's samples, else the fixture images for a
    model taking one image, else seeded random inputs (harness.models.samples)."""
    from harness.artifact.meta import load_meta
    from harness.models.samples import choose_inputs, specs_from
    from harness.scenarios.workloads import photograph_inputs

    specs = specs_from(load_meta(artifact.directory).inputs)
    if model.detector and model.samples is None:
        return photograph_inputs(specs[0].name)
    return choose_inputs(specs, samples=model.samples, images=sorted(IMAGES.glob("*.png")), seed=0)


def save_input_sets(sets: list[InputSet], path: Path) -> Path:
    """The sets as the generic model component reads them: keys '<set>/<input name>', labels in 'labels'."""
    import numpy as np

    np.savez(path, labels=np.array([s.label for s in sets]),
             **{f"{i}/{name}": a for i, s in enumerate(sets) for name, a in s.arrays.items()})
    return path


def host_reference(model: ScenarioModel, sets: list[InputSet]) -> dict[str, dict[str, Any]]:
    """The user's own model on the host (ONNX Runtime or LiteRT), per input set label."""
    from harness.models.reference import run_reference

    return {s.label: run_reference(model.path, s.arrays) for s in sets}


@dataclass
class Deployed:
    """A model component and the generic DLR model component running the run's inputs on one device."""

    device: Device
    client: GreengrassClient
    model: Component
    inference: Component
    topic: str
    base: str
    names: list[str] = field(default_factory=list)
    reference: dict[str, dict[str, Any]] = field(default_factory=dict)  # host outputs per input set label
    detector: bool = False

    def problems(self, message: dict[str, Any]) -> list[str]:
        """Why a published message disagrees with the host reference (and, for the detector, with the faces
        in the photograph); empty when it agrees."""
        from harness.models.compare import compare_payload
        from harness.scenarios.workloads import detection_problems

        label = message.get("input")
        if label not in self.reference:
            return [f"message for unknown input {label!r}"]
        verdict = compare_payload(message, self.reference[label])
        problems = [] if verdict.ok else [f"{label}: {verdict.describe()}"]
        return problems + (detection_problems(label, message, self.reference[label]) if self.detector else [])

    @property
    def inference_name(self) -> str:
        return self.inference.recipe.component_name


class Deployments:
    """Deployments of one module, made once per device, removed (with their files) at the module's end."""

    def __init__(self, run_id: str, work: Path, scenario: str, model: ScenarioModel, route: ResultsRoute) -> None:
        self.run_id, self.work, self.scenario, self.scenario_model = run_id, work, scenario, model
        self.route = route
        self._by_device: dict[str, Deployed] = {}
        self._failed: dict[str, Exception] = {}
        self._attempted: list[Deployed] = []  # removed at the end, deployed or not: a failed deploy leaves parts

    def name(self, base: str) -> str:
        return unique_name(base, self.run_id)

    def get(self, device: Device, artifact: Artifact) -> Deployed:
        """The device's deployment; a deployment that failed fails the module's later tests at once, too."""
        if device.name in self._failed:
            raise self._failed[device.name]
        if device.name not in self._by_device:
            try:
                self._by_device[device.name] = self._deploy(device, artifact)
            except Exception as exc:
                self._failed[device.name] = exc
                raise
        return self._by_device[device.name]

    def _deploy(self, device: Device, artifact: Artifact) -> Deployed:
        from harness.greengrass import builders, steps
        from harness.ship import component_artifacts

        client = steps.client_for(device)
        iot = self.route.for_device(device)  # where its results go; its thing files checked before deploying
        # A private mktemp directory, not a fixed /tmp name another local user could create first and
        # fill with files of their own; opened to 0755 below for the component's user.
        base = make_scratch(device.transport, re.sub(r"[^a-z0-9-]", "-", self.scenario.lower())[:32] or "scenario")
        work = self.work / device.name
        work.mkdir(parents=True, exist_ok=True)
        model = builders.model_component(self.name(f"com.example.{self.scenario.title()}Model"), "1.0.0",
                                         artifact.directory, work)
        sets = input_sets(artifact, self.scenario_model)
        topic = thing_topic("model-outputs", device.name, self.run_id)  # the broker's ACL: its own topics only
        script, siblings = component_artifacts("model_component")
        inference = builders.model_inference_component(
            self.name(f"com.example.{self.scenario.title()}Dlr"), "1.0.0", model, script, extra_files=siblings,
            inputs_file=save_input_sets(sets, work / "inputs.npz"), inference_interval=2, topic=topic,
            iot=iot.environment())
        deployed = Deployed(device, client, model, inference, topic, base,
                            [inference.recipe.component_name, model.recipe.component_name],
                            host_reference(self.scenario_model, sets), self.scenario_model.detector)
        self._attempted.append(deployed)
        device.transport.check(["chmod", "0755", base], timeout=30, step="stage work dir")
        steps.expect_deployment(client, [model, inference], within=DEPLOY_WITHIN)
        return deployed

    def remove_all(self) -> None:
        from harness.greengrass import steps

        failures: list[Exception] = []
        for deployed in self._attempted:  # every device is cleaned, even after one fails
            try:
                steps.expect_deployment(deployed.client, remove=deployed.names, within=DEPLOY_WITHIN)
            except Exception as exc:  # noqa: BLE001 - raised below, after the other devices
                failures.append(exc)
            finally:
                remove_scratch(deployed.device.transport, deployed.base)
                deployed.client.close()
        if failures:
            raise failures[0]


@pytest.fixture(scope="module")
def deployments(request: pytest.FixtureRequest, lab: Any, gg_run_id: str, scenario_model: ScenarioModel,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployments]:
    scenario = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    pool = Deployments(gg_run_id, tmp_path_factory.mktemp(f"components-{scenario}"), scenario, scenario_model,
                       lab.results)
    yield pool
    pool.remove_all()


@pytest.fixture
def deployed(device: Device, artifact: Artifact, deployments: Deployments) -> Deployed:
    """This module's model + generic inference components on ``device`` (deployed on first use)."""
    return deployments.get(device, artifact)


@pytest.fixture
def inference_results(lab: Any) -> Callable[[str], Any]:
    """``inference_results(topic)``: a subscriber to an inference component's messages where the lab sends
    results (its broker, or the lab file's own IoT Core endpoint; mutual TLS), as a context manager."""
    return lab.results.subscriber
