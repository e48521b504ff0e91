"""The two components DLR users on Greengrass know, and run-unique component names.

Shaped like AWS's public pair ``variant.DLR.ImageClassification.ModelStore`` (a model component
whose artifact is a ZIP the nucleus unpacks) and ``aws.greengrass.DLRImageClassification`` (an
inference component that depends on it and runs an inference script with ``InferenceInterval``,
``PublishResultsOnTopic``, ``ImageDirectory``/``ImageName``, ``Accelerator``). Configuration values
reach the script as environment variables set by the recipe's ``Setenv`` and as arguments built
from them, never by pasting configuration text into the shell line, so a deployment's
``--update-config`` cannot inject shell.

Inference script contract (argv and environment, the same values):
``--model-dir DIR --accelerator cpu|gpu --image-dir DIR --image-name NAME --interval SECONDS
--topic TOPIC``; env HIL_MODEL_DIR, HIL_ACCELERATOR, HIL_IMAGE_DIR, HIL_IMAGE_NAME,
HIL_INFERENCE_INTERVAL, HIL_RESULTS_TOPIC. An empty image dir/name means the script's own default.
Where results go is ``iot`` (harness.mqtt.route.DeviceLink.environment: HIL_IOT_ENDPOINT,
HIL_THING_CERT, HIL_THING_KEY, HIL_ROOT_CA); without it the script reads the core's own files.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

from harness.greengrass.artifacts import Component, zip_directory
from harness.greengrass.errors import ComponentArtifactError
from harness.greengrass.names import ARTIFACT_FILE_RE, check_component_name, check_version
from harness.greengrass.recipe import parse_recipe
from harness.lab.device import DEVICE_PYTHON

DEFAULT_TOPIC = "ml/dlr/image-classification"
DEFAULT_PUBLISHER = "edge-hil"
DEFAULT_URI_PREFIX = "s3://edge-hil-components"
#: Greengrass's platform ``architecture`` values (nucleus: amd64, aarch64, arm, x86).
ARCHITECTURES = ("amd64", "aarch64", "arm", "x86")
#: The inference script's environment for where results go (harness/ondevice/component.py's options).
IOT_ENVIRONMENT = ("HIL_IOT_ENDPOINT", "HIL_THING_CERT", "HIL_THING_KEY", "HIL_ROOT_CA")
IOT_VALUE_RE = re.compile(r"[^\s{}]+")
_RUN_ID_RE = re.compile(r"[A-Za-z0-9]{1,24}", re.ASCII)
_process_run_id: str | None = None


def run_id() -> str:
    """This run's id: ``$HIL_RUN_ID`` or a random one, plus the xdist worker (gw0, gw1, ...)."""
    global _process_run_id
    if _process_run_id is None:
        base = os.environ.get("HIL_RUN_ID") or uuid.uuid4().hex[:8]
        worker = os.environ.get("PYTEST_XDIST_WORKER", "")
        rid = re.sub(r"[^A-Za-z0-9]", "", base + worker)[:24]
        if not _RUN_ID_RE.fullmatch(rid):
            raise ValueError(f"HIL_RUN_ID {base!r} must contain letters or digits")
        _process_run_id = rid
    return _process_run_id


def unique_name(base: str, rid: str | None = None) -> str:
    """``com.example.Model`` -> ``com.example.Model-<run id>``: parallel runs never share a
    component name, so one run cannot replace another's component on a shared core."""
    rid = rid or run_id()
    if not _RUN_ID_RE.fullmatch(rid):
        raise ValueError(f"run id {rid!r} must be 1-24 letters or digits")
    return check_component_name(f"{check_component_name(base, 'component name')}-{rid}", "component name")


def platform(architecture: str | None = None, architecture_detail: str | None = None) -> dict[str, str]:
    """A Linux manifest Platform; ``architecture.detail`` is e.g. ``armv7l`` on a Raspberry Pi."""
    plat = {"os": "linux"}
    if architecture is not None:
        if architecture not in ARCHITECTURES:
            raise ValueError(f"architecture {architecture!r} is not one of {', '.join(ARCHITECTURES)}")
        plat["architecture"] = architecture
    if architecture_detail is not None:
        plat["architecture.detail"] = architecture_detail
    return plat


def model_component(name: str, version: str, model_dir: Path, work_dir: Path, *, archive: str = "model",
                    architecture: str | None = None, architecture_detail: str | None = None,
                    description: str | None = None, publisher: str = DEFAULT_PUBLISHER,
                    uri_prefix: str = DEFAULT_URI_PREFIX) -> Component:
    """A model component: the compiled Neo artifact directory, zipped, unpacked by the nucleus.

    The files land in ``{artifacts:decompressedPath}/<archive>/``; Install checks they are there and
    links them at ``{work:path}/<archive>``, a path that stays put across versions.
    """
    check_component_name(name)
    check_version(version)
    if not ARTIFACT_FILE_RE.fullmatch(f"{archive}.zip") or "." in archive:
        raise ValueError(f"archive name {archive!r} must be letters, digits, '_' or '-'")
    zip_path = zip_directory(Path(model_dir), Path(work_dir) / f"{name}-{version}" / f"{archive}.zip")
    unpacked = f"{{artifacts:decompressedPath}}/{archive}"
    recipe = parse_recipe({
        "RecipeFormatVersion": "2020-01-25",
        "ComponentName": name,
        "ComponentVersion": version,
        "ComponentDescription": description or f"Neo-compiled model {Path(model_dir).name} for DLR",
        "ComponentPublisher": publisher,
        "Manifests": [{
            "Platform": platform(architecture, architecture_detail),
            "Lifecycle": {"Install": {"Script": (
                f'test -n "$(ls -A {unpacked})" || {{ echo "model files missing in {unpacked}" >&2; exit 1; }}\n'
                f"ln -sfn {unpacked} {{work:path}}/{archive}"), "Timeout": 300}},
            "Artifacts": [{"URI": f"{uri_prefix}/{name}/{version}/{archive}.zip", "Unarchive": "ZIP",
                           "Permission": {"Read": "ALL", "Execute": "NONE"}}],
        }],
    }, source=f"builder {name}")
    return Component(recipe, {f"{archive}.zip": zip_path}).sealed()


def inference_component(name: str, version: str, model: Component, script: Path, *,
                        extra_files: Sequence[Path] = (), interpreter: str = DEVICE_PYTHON,
                        model_archive: str = "model", version_requirement: str | None = None,
                        inference_interval: int = 3600, topic: str = DEFAULT_TOPIC, image_directory: str = "",
                        image_name: str = "", accelerator: str = "cpu", model_resource_root: str = "",
                        architecture: str | None = None, architecture_detail: str | None = None,
                        description: str | None = None, publisher: str = DEFAULT_PUBLISHER,
                        uri_prefix: str = DEFAULT_URI_PREFIX, iot: Mapping[str, str] | None = None) -> Component:
    """An inference component that runs ``interpreter script`` against ``model``'s files.

    The model directory is ``ModelResourceRoot`` when set, else the model component's unpacked
    archive. Configuration values are strings, as Greengrass recommends for numbers. ``iot`` is set in
    the component's environment as it is (the endpoint and the device's thing file paths).
    """
    check_component_name(name)
    check_version(version)
    if accelerator not in ("cpu", "gpu"):
        raise ValueError(f"Accelerator {accelerator!r} must be cpu or gpu")
    if not interpreter.startswith("/") or any(c in interpreter for c in " \t\n'\"$`\\;&|<>"):
        raise ValueError(f"interpreter {interpreter!r} must be an absolute path without shell characters")
    if isinstance(inference_interval, bool) or not isinstance(inference_interval, int) or inference_interval <= 0:
        raise ValueError(f"InferenceInterval {inference_interval!r} must be a positive number of seconds")
    for key, value in (iot or {}).items():
        if key not in IOT_ENVIRONMENT or not IOT_VALUE_RE.fullmatch(value):
            raise ValueError(f"iot setting {key}={value[:80]!r} must be one of {', '.join(IOT_ENVIRONMENT)} "
                             "with a value without spaces or braces")
    files: dict[str, Path] = {}
    for path in (Path(script), *map(Path, extra_files)):
        if not path.is_file():
            raise ComponentArtifactError(f"{path}: inference file not found", step=f"build {name}")
        if not ARTIFACT_FILE_RE.fullmatch(path.name) or path.name in files:
            raise ComponentArtifactError(f"{path}: file name {path.name!r} is not a unique plain artifact name",
                                step=f"build {name}")
        files[path.name] = path
    model_name = model.recipe.component_name
    requirement = version_requirement or f"={model.recipe.component_version}"
    env = {
        "HIL_MODEL_DIR": f"{{{model_name}:artifacts:decompressedPath}}/{model_archive}",
        "HIL_MODEL_RESOURCE_ROOT": "{configuration:/ModelResourceRoot}",
        "HIL_ACCELERATOR": "{configuration:/Accelerator}",
        "HIL_IMAGE_DIR": "{configuration:/ImageDirectory}",
        "HIL_IMAGE_NAME": "{configuration:/ImageName}",
        "HIL_INFERENCE_INTERVAL": "{configuration:/InferenceInterval}",
        "HIL_RESULTS_TOPIC": "{configuration:/PublishResultsOnTopic}",
        **(iot or {}),
    }
    run = (
        'if [ -n "$HIL_MODEL_RESOURCE_ROOT" ]; then HIL_MODEL_DIR="$HIL_MODEL_RESOURCE_ROOT"; fi\n'
        "export HIL_MODEL_DIR\n"
        f'exec {interpreter} {{artifacts:path}}/{Path(script).name} --model-dir "$HIL_MODEL_DIR" '
        '--accelerator "$HIL_ACCELERATOR" --image-dir "$HIL_IMAGE_DIR" --image-name "$HIL_IMAGE_NAME" '
        '--interval "$HIL_INFERENCE_INTERVAL" --topic "$HIL_RESULTS_TOPIC"')
    recipe = parse_recipe({
        "RecipeFormatVersion": "2020-01-25",
        "ComponentName": name,
        "ComponentVersion": version,
        "ComponentDescription": description or f"DLR inference with {model_name}",
        "ComponentPublisher": publisher,
        "ComponentConfiguration": {"DefaultConfiguration": {
            "InferenceInterval": str(inference_interval),
            "PublishResultsOnTopic": topic,
            "ImageDirectory": image_directory,
            "ImageName": image_name,
            "Accelerator": accelerator,
            "ModelResourceRoot": model_resource_root,
        }},
        "ComponentDependencies": {model_name: {"VersionRequirement": requirement, "DependencyType": "HARD"}},
        "Manifests": [{
            "Platform": platform(architecture, architecture_detail),
            "Lifecycle": {"Setenv": env, "Run": {"Script": run}},
            "Artifacts": [{"URI": f"{uri_prefix}/{name}/{version}/{fname}",
                           "Permission": {"Read": "OWNER", "Execute": "OWNER"}} for fname in files],
        }],
    }, source=f"builder {name}")
    return Component(recipe, files).sealed()


def script_component(name: str, version: str, script: Path, *, manifest_platform: dict[str, str] | None = None,
                     configuration: dict[str, str] | None = None) -> Component:
    """A component whose Run is a plain shell script artifact: the smallest thing a core can run.

    Each ``configuration`` key reaches the script as an upper-case environment variable (through
    ``Setenv``), so tests and smoke deployments can see a configuration update take effect.
    """
    configuration = configuration if configuration is not None else {"Greeting": "hello"}
    setenv = {key.upper(): f"{{configuration:/{key}}}" for key in configuration}
    recipe = parse_recipe({
        "RecipeFormatVersion": "2020-01-25", "ComponentName": name, "ComponentVersion": version,
        "ComponentConfiguration": {"DefaultConfiguration": configuration},
        "Manifests": [{"Platform": manifest_platform or platform(),
                       "Lifecycle": {"Setenv": setenv, "Run": f"sh {{artifacts:path}}/{script.name}"},
                       "Artifacts": [{"URI": f"{DEFAULT_URI_PREFIX}/{name}/{version}/{script.name}"}]}]})
    return Component(recipe, {script.name: script}).sealed()


def model_inference_component(name: str, version: str, model: Component, script: Path, *,
                              extra_files: Sequence[Path] = (), inputs_file: Path | None = None, seed: int = 0,
                              **options) -> Component:
    """The generic inference component for any model (harness/ondevice/model_component.py): the
    inference component's recipe, with its inputs taken from ``inputs_file`` (an .npz shipped as an
    artifact) or, without one, seeded random inputs (configuration ``InputSeed``).

    ``options`` are :func:`inference_component`'s (interval, topic, accelerator, platform...).
    """
    files = [*extra_files, *([Path(inputs_file)] if inputs_file is not None else [])]
    base = inference_component(name, version, model, script, extra_files=files, **options)
    raw = base.recipe.to_dict()
    raw["ComponentDescription"] = options.get("description") or f"DLR inference of {model.recipe.component_name}"
    raw["ComponentConfiguration"]["DefaultConfiguration"]["InputSeed"] = str(int(seed))
    lifecycle = raw["Manifests"][0]["Lifecycle"]
    lifecycle["Setenv"]["HIL_INPUTS_FILE"] = f"{{artifacts:path}}/{Path(inputs_file).name}" if inputs_file else ""
    lifecycle["Setenv"]["HIL_INPUT_SEED"] = "{configuration:/InputSeed}"
    lifecycle["Run"]["Script"] += ' --inputs "$HIL_INPUTS_FILE" --seed "$HIL_INPUT_SEED"'
    return Component(parse_recipe(raw, source=f"builder {name}"), dict(base.files)).sealed()
