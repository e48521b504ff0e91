"""Pure logic of the Greengrass emulator: semver ranges, recipes, platforms, variables, configuration,
deployment documents — plus hypothesis fuzzing of the two parsers (typed errors only, never a crash)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulators.greengrass.configuration import next_configuration
from simulators.greengrass.document import DeploymentDocument, parse_document
from simulators.greengrass.errors import DocumentError, GreengrassError, NoMatchingPlatform, RecipeError
from simulators.greengrass.platforms import current_platform, resolved_lifecycle, select_manifest
from simulators.greengrass.recipe import Recipe, parse_recipe
from simulators.greengrass.semver import Requirement, Version
from simulators.greengrass.variables import ComponentContext, interpolate

BASE = """
RecipeFormatVersion: 2020-01-25
ComponentName: com.example.Hello
ComponentVersion: '1.0.0'
ComponentDependencies:
  aws.greengrass.TokenExchangeService:
    VersionRequirement: '^2.0.0'
    DependencyType: SOFT
ComponentConfiguration:
  DefaultConfiguration:
    Message: world
Manifests:
  - Platform:
      os: linux
      architecture: aarch64
    Lifecycle:
      Run: echo arm
  - Platform:
      os: linux
      architecture: /amd64|x86/
    Selections: [posix]
  - Platform:
      os: '*'
Lifecycle:
  posix:
    Setenv:
      GREETING: hi
    Install:
      Script: echo install
      Timeout: 5
      Skipif: onpath true
      RequiresPrivilege: true
    Run: echo posix {configuration:/Message}
"""


@pytest.mark.parametrize("req, inside, outside", [
    (">=1.0.0 <2.0.0", "1.9.9", "2.0.0"), ("^1.2", "1.9.0", "2.0.0"), ("^0.2.3", "0.2.9", "0.3.0"),
    ("~1.2.3", "1.2.9", "1.3.0"), ("1.x", "1.7.0", "2.0.0"), ("1.0.0", "1.0.0", "1.0.1"),
    ("1.0.0 - 2.0.0", "2.0.0", "2.0.1"), ("<1.0.0 || >=3.0.0", "3.1.0", "2.0.0"), ("=2.0.0", "2.0.0", "2.0.1"),
    (">1.2", "1.3.0", "1.2.9"), ("<=1.2", "1.2.9", "1.3.0"), ("*", "0.0.1", None),
])
def test_requirements_follow_npm_semantics(req: str, inside: str, outside: str | None) -> None:
    r = Requirement.parse(req)
    assert r.allows(Version.parse(inside))
    assert outside is None or not r.allows(Version.parse(outside))


def test_versions_order_prereleases_first() -> None:
    ordered = sorted(Version.parse(v) for v in ["1.0.0", "1.0.0-rc.2", "1.0.0-rc.10", "0.9.9", "1.0.0-beta"])
    assert [str(v) for v in ordered] == ["0.9.9", "1.0.0-beta", "1.0.0-rc.2", "1.0.0-rc.10", "1.0.0"]
    for bad in ("1.0", "01.0.0", "1.0.0.0", "v1.0.0", 1.0, None):
        with pytest.raises(GreengrassError):
            Version.parse(bad)


def test_recipe_fields_and_platform_selection() -> None:
    rec = parse_recipe(BASE)
    assert (rec.name, str(rec.version), rec.default_config) == ("com.example.Hello", "1.0.0", {"Message": "world"})
    assert rec.dependencies["aws.greengrass.TokenExchangeService"].kind == "SOFT"
    arm = select_manifest(rec, {"os": "linux", "architecture": "aarch64"})
    assert resolved_lifecycle(rec, arm)[0]["Run"].script == "echo arm"
    amd = select_manifest(rec, {"os": "linux", "architecture": "amd64"})
    steps, setenv = resolved_lifecycle(rec, amd)
    assert steps["Run"].script == "echo posix {configuration:/Message}" and setenv == {"GREETING": "hi"}
    install = steps["Install"]
    assert (install.timeout, install.skipif, install.requires_privilege) == (5.0, "onpath true", True)
    assert steps["Run"].timeout is None  # Run has no default timeout
    other = select_manifest(rec, {"os": "darwin", "architecture": "riscv"})
    assert resolved_lifecycle(rec, other)[0] == {}  # no selection matches: empty lifecycle


def test_no_matching_manifest_uses_greengrass_wording() -> None:
    rec = parse_recipe(BASE.replace("os: '*'", "os: windows"))
    with pytest.raises(NoMatchingPlatform) as err:
        select_manifest(rec, {"os": "linux", "architecture": "arm", "architecture.detail": "armv7"})
    assert str(err.value) == ("Failed to find usable recipe for current platform: {os=linux, architecture=arm, "
                              "architecture.detail=armv7}, for package: 'com.example.Hello-v1.0.0' in the local "
                              "package store")  # aws-greengrass-nucleus v2.18.2 ComponentStore.java:220-223
    assert err.value.stack[-1] == "LOCAL_RECIPE_NOT_FOUND" and err.value.types == ("DEVICE_ERROR",)


def test_current_platform_and_override() -> None:
    plat = current_platform()
    assert plat["os"] == "linux" and plat["architecture"] in ("amd64", "aarch64", "arm", "x86")
    assert current_platform({"architecture": "arm", "architecture.detail": "armv7"})["architecture.detail"] == "armv7"


def test_json_recipe_and_default_timeouts() -> None:
    doc = {"RecipeFormatVersion": "2020-01-25", "ComponentName": "a.b", "ComponentVersion": "2.0.0",
           "Manifests": [{"Lifecycle": {"Install": "true", "Shutdown": "true"}}]}
    rec = parse_recipe(json.dumps(doc), "json")
    steps, _ = resolved_lifecycle(rec, rec.manifests[0])
    assert steps["Install"].timeout == 120.0 and steps["Shutdown"].timeout == 15.0


@pytest.mark.parametrize("mutation, message", [
    (lambda d: d.pop("Manifests"), "missing manifests"),
    (lambda d: d.update(ComponentName="../etc"), "not a valid component name"),
    (lambda d: d.update(ComponentVersion="1.0"), "not a valid semantic version"),
    (lambda d: d.update(RecipeFormatVersion="2019-01-01"), "RecipeFormatVersion"),
    (lambda d: d["Manifests"][0].update(Artifacts=[{"Uri": "s3://b/x", "Unarchive": "TAR"}]), "Unarchive"),
    (lambda d: d["Manifests"][0].update(Lifecycle={"Run": {"Script": "x", "Timeout": -1}}), "Timeout"),
    (lambda d: d["Manifests"][0].update(Lifecycle={"Run": {"Script": "x", "Skipif": "maybe"}}), "Skipif"),
    (lambda d: d.update(ComponentDependencies={"x.y": {"VersionRequirement": ">=banana"}}), "not valid"),
])
def test_bad_recipes_raise_one_line_typed_errors(mutation, message: str) -> None:
    doc = yaml.safe_load(BASE)
    mutation(doc)
    with pytest.raises(RecipeError) as err:
        parse_recipe(yaml.safe_dump(doc))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_yaml_aliases_are_refused() -> None:
    with pytest.raises(RecipeError, match="aliases"):
        parse_recipe("a: &x [1, 2]\nb: *x\n")


def test_variables_interpolate_own_and_dependency_forms(tmp_path: Path) -> None:
    me = ComponentContext("com.ex.App", "1.0.0", {"port": 80, "name": "n", "nested": {"k": [1]}})
    lib = ComponentContext("com.ex.Lib", "2.0.0", {"path": "/p"})
    text = ("{artifacts:path} {artifacts:decompressedPath} {work:path} {kernel:rootPath} {iot:thingName} "
            "{configuration:/port} {configuration:/nested} {configuration:/missing} {com.ex.Lib:artifacts:path} "
            "{com.ex.Lib:configuration:/path} {com.ex.Other:work:path} {com.ex.Lib:kernel:rootPath}")
    out = interpolate(text, root=tmp_path, thing_name="core1", me=me, deps={"com.ex.Lib": lib})
    assert out.split() == [
        f"{tmp_path}/packages/artifacts/com.ex.App/1.0.0", f"{tmp_path}/packages/artifacts-unarchived/com.ex.App/1.0.0",
        f"{tmp_path}/work/com.ex.App", str(tmp_path), "core1", "80", '{"k":', "[1]}", "{configuration:/missing}",
        f"{tmp_path}/packages/artifacts/com.ex.Lib/2.0.0", "/p", "{com.ex.Other:work:path}",
        "{com.ex.Lib:kernel:rootPath}"]


def test_configuration_carry_over_reset_merge() -> None:
    default = {"a": 1, "b": {"c": 2, "d": 3}, "new": True}
    previous = {"a": 10, "b": {"c": 20}, "gone": 1}
    assert next_configuration(None, default, None) == default
    assert next_configuration(previous, default, None) == {"a": 10, "b": {"c": 20, "d": 3}, "new": True, "gone": 1}
    update = {"RESET": ["/b/c", "/gone"], "MERGE": {"b": {"e": 5}, "a": [1]}}
    assert next_configuration(previous, default, update) == {"a": [1], "b": {"c": 2, "d": 3, "e": 5}, "new": True}
    assert next_configuration(previous, default, {"RESET": [""]}) == default


def test_document_parsing() -> None:
    doc = parse_document({"merge": {"a.b": "1.0.0"}, "remove": ["c"], "recipe_dir": "/r",
                          "config_update": {"a.b": {"MERGE": {"x": 1}, "RESET": ["/y"]}},
                          "failure_policy": "DO_NOTHING"})
    assert doc == DeploymentDocument({"a.b": "1.0.0"}, ("c",), "LOCAL_DEPLOYMENT", "/r", None,
                                     {"a.b": {"MERGE": {"x": 1}, "RESET": ["/y"]}}, "DO_NOTHING")
    assert parse_document(doc.to_json()) == doc
    for bad in ({"merge": {"a": "1"}}, {"remove": "a"}, {"recipe_dir": "relative"}, {"failure_policy": "PANIC"},
                {"config_update": {"a": {"PATCH": {}}}}, {"config_update": {"a": {"RESET": ["no-slash"]}}},
                {"merge": {"a": "1.0.0"}, "remove": ["a"]}, {"surprise": 1}, []):
        with pytest.raises(DocumentError):
            parse_document(bad)


# -- fuzzing: any input gives a valid value or a typed error ------------------------------------------------
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=20)
recipe_keys = st.sampled_from(["RecipeFormatVersion", "ComponentName", "ComponentVersion", "Manifests", "Lifecycle",
                               "ComponentDependencies", "ComponentConfiguration", "Platform", "Artifacts", "Run",
                               "Install", "Script", "Timeout", "Setenv", "Skipif", "Uri", "Digest", "Unarchive",
                               "Permission", "Selections", "VersionRequirement", "DependencyType"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_fuzz_recipe_text(text: str) -> None:
    for fmt in ("yaml", "json"):
        try:
            assert isinstance(parse_recipe(text, fmt), Recipe)
        except GreengrassError:
            pass


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recipe_keys, json_values, st.integers(min_value=0, max_value=2))
def test_fuzz_recipe_structure(key: str, value: object, where: int) -> None:
    doc = yaml.safe_load(BASE)
    target = [doc, doc["Manifests"][0], doc["Lifecycle"]["posix"]][where]
    target[key] = value
    try:
        rec = parse_recipe(yaml.safe_dump(doc))
        for manifest in rec.manifests:
            resolved_lifecycle(rec, manifest)
    except GreengrassError as exc:
        assert str(exc) and "\n" not in str(exc)


doc_keys = st.sampled_from(["merge", "remove", "group", "recipe_dir", "artifact_dir", "config_update",
                            "failure_policy"])


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(doc_keys, json_values, max_size=5) | json_values)
def test_fuzz_deployment_document(raw: object) -> None:
    try:
        doc = parse_document(raw)
    except DocumentError as exc:
        assert str(exc)
    else:
        assert parse_document(json.loads(json.dumps(doc.to_json()))) == doc
