"""The emulator's name, version and variable-name checks match whole strings: Python's ``$`` also matches
before a trailing newline, so ``re.match(r"^...$")`` took ``"com.example.A\\n"`` and ``"1.0.0\\n"``, and ``\\d``
took any script's digits (``"١.0.0"``); neither the component-name rule (ASCII letters, digits, '.', '_', '-')
nor semver.org's grammar (ASCII digits) admits them."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulators.greengrass.document import parse_document
from simulators.greengrass.errors import DocumentError, RecipeError, VersionError
from simulators.greengrass.recipe import parse_lifecycle, parse_recipe
from simulators.greengrass.semver import Requirement, Version

names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}", fullmatch=True)
numbers = st.integers(min_value=0, max_value=10**6).map(str)
versions = st.builds(lambda a, b, c, pre: f"{a}.{b}.{c}" + (f"-{pre}" if pre else ""), numbers, numbers, numbers,
                     st.none() | st.from_regex(r"[A-Za-z][0-9A-Za-z-]{0,8}", fullmatch=True))
env_keys = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,30}", fullmatch=True)
other_digits = st.characters(categories=["Nd"]).filter(lambda c: not "0" <= c <= "9")


def recipe(name: str = "com.example.A", version: str = "1.0.0", dependency: str | None = None) -> str:
    doc = {"RecipeFormatVersion": "2020-01-25", "ComponentName": name, "ComponentVersion": version,
           "Manifests": [{"Platform": {"os": "*"}, "Lifecycle": {"Run": "true"}}]}
    if dependency is not None:
        doc["ComponentDependencies"] = {dependency: {"VersionRequirement": ">=1.0.0"}}
    return json.dumps(doc)


@given(names)
def test_component_names_with_a_trailing_newline_are_refused(name: str) -> None:
    assert parse_recipe(recipe(name), "json").name == name
    with pytest.raises(RecipeError, match="ComponentName"):
        parse_recipe(recipe(name + "\n"), "json")
    assert name in parse_recipe(recipe(dependency=name), "json").dependencies
    with pytest.raises(RecipeError, match="Dependency name"):
        parse_recipe(recipe(dependency=name + "\n"), "json")


@given(names, versions)
def test_deployment_documents_refuse_a_trailing_newline_in_names(name: str, version: str) -> None:
    assert parse_document({"merge": {name: version}}).merge == {name: version}
    with pytest.raises(DocumentError, match="not a valid component name"):
        parse_document({"merge": {name + "\n": version}})
    with pytest.raises(DocumentError, match="not a valid semantic version"):
        parse_document({"merge": {name: version + "\n"}})


@given(versions)
def test_versions_with_a_trailing_newline_are_refused(version: str) -> None:
    assert str(Version.parse(version)) == version
    with pytest.raises(VersionError):
        Version.parse(version + "\n")
    with pytest.raises(RecipeError, match="semantic version"):  # VersionError is a RecipeError's kind too
        parse_recipe(recipe(version=version + "\n"), "json")


@given(other_digits, numbers)
def test_versions_and_requirements_take_ascii_digits_only(digit: str, number: str) -> None:
    with pytest.raises(VersionError):
        Version.parse(f"{digit}.{number}.0")
    with pytest.raises(VersionError):
        Requirement.parse(f">={number}.{digit}")


@given(env_keys)
def test_setenv_keys_with_a_trailing_newline_are_refused(key: str) -> None:
    assert parse_lifecycle({"Setenv": {key: "v"}, "Run": "true"})[1] == {key: "v"}
    with pytest.raises(RecipeError, match="variable name"):
        parse_lifecycle({"Setenv": {key + "\n": "v"}, "Run": "true"})
