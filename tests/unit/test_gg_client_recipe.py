"""Recipe model: what the developer guide allows passes, everything else is a one-line RecipeError."""

from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.greengrass.errors import RecipeError
from harness.greengrass.names import check_component_name
from harness.greengrass.recipe import Recipe, load_recipe, parse_recipe

# The "Component recipe that specifies several fields" example of the developer guide's component
# recipe reference (JSON form; its YAML form has a typo in the doc).
DOC_FOO_SERVICE = """{
  "RecipeFormatVersion": "2020-01-25",
  "ComponentName": "com.example.FooService",
  "ComponentDescription": "Complete recipe for AWS IoT Greengrass components",
  "ComponentPublisher": "Amazon",
  "ComponentVersion": "1.0.0",
  "ComponentConfiguration": {"DefaultConfiguration": {"TestParam": "TestValue"}},
  "ComponentDependencies": {
    "BarService": {"VersionRequirement": "^1.1.0", "DependencyType": "SOFT"},
    "BazService": {"VersionRequirement": "^2.0.0"}
  },
  "Manifests": [
    {"Platform": {"os": "linux", "architecture": "amd64"},
     "Lifecycle": {"Install": {"Skipif": "onpath git", "Script": "sudo apt-get install git"}},
     "Artifacts": [{"URI": "s3://DOC-EXAMPLE-BUCKET/hello_world.zip", "Unarchive": "ZIP"},
                   {"URI": "s3://DOC-EXAMPLE-BUCKET/hello-world2.py"}]},
    {"Lifecycle": {"Install": {"Skipif": "onpath git", "Script": "sudo apt-get install git"}},
     "Artifacts": [{"URI": "s3://DOC-EXAMPLE-BUCKET/hello_world.py"}]}
  ]
}"""

# The Hello World recipe of the getting-started tutorial, YAML, with an unquoted format date.
DOC_HELLO_YAML = """---
RecipeFormatVersion: 2020-01-25
ComponentName: com.example.HelloWorld
ComponentVersion: '1.0.0'
ComponentDescription: My first AWS IoT Greengrass component.
ComponentPublisher: Amazon
ComponentConfiguration:
  DefaultConfiguration:
    Message: world
Manifests:
  - Platform:
      os: linux
    Lifecycle:
      Run: |
        python3 -u {artifacts:path}/hello_world.py "{configuration:/Message}"
"""

# As AWS publishes aws.greengrass.DLRImageClassification: lower-case run/script/setEnv, Uri,
# RequiresPrivilege as a string, Digest/Algorithm filled in by the service.
AWS_STYLE_KEYS = {
    "RecipeFormatVersion": "2020-01-25",
    "ComponentName": "aws.greengrass.DLRImageClassification",
    "ComponentVersion": "2.1.6",
    "ComponentDependencies": {
        "variant.DLR.ImageClassification.ModelStore": {"VersionRequirement": ">=2.1.0 <2.2.0",
                                                       "DependencyType": "HARD"},
        "aws.greengrass.Nucleus": {"VersionRequirement": ">=2.0.0 <2.10.0", "DependencyType": "SOFT"}},
    "Manifests": [{
        "Platform": {"os": "linux", "architecture": "arm"},
        "Lifecycle": {
            "setEnv": {"DLR_IC_MODEL_DIR": "{variant.DLR.ImageClassification.ModelStore:artifacts:decompressedPath}/x"},
            "run": {"RequiresPrivilege": "true", "script": "python3 {artifacts:decompressedPath}/ic/inference.py"}},
        "Artifacts": [{"Uri": "greengrass:gwGTP0uPD1KsqEEntRsLeg5qsSZSv6nDbwnigKNrXsY=/image_classification.zip",
                       "Digest": "rozM+acRNzNGuUXokMX43EoAs6hMaw1tw2eQtiBqrEw=", "Algorithm": "SHA-256",
                       "Unarchive": "ZIP", "Permission": {"Read": "OWNER", "Execute": "NONE"}}]}],
}


def minimal(**overrides):
    data = {"RecipeFormatVersion": "2020-01-25", "ComponentName": "com.example.App", "ComponentVersion": "1.0.0",
            "Manifests": [{"Platform": {"os": "linux"}, "Lifecycle": {"Run": "echo hi"}}]}
    data.update(overrides)
    return data


def test_doc_examples_parse_and_round_trip():
    for text in (DOC_FOO_SERVICE, DOC_HELLO_YAML):
        recipe = load_recipe(text, source="doc")
        assert load_recipe(recipe.to_yaml()) == recipe
        assert load_recipe(recipe.to_json()) == recipe
    foo = load_recipe(DOC_FOO_SERVICE)
    assert foo.component_dependencies["BazService"].dependency_type == "HARD"
    assert foo.manifests[0].artifacts[0].unarchive == "ZIP"
    assert foo.manifests[0].artifacts[1].file_name == "hello-world2.py"
    assert load_recipe(DOC_HELLO_YAML).recipe_format_version == "2020-01-25"


def test_aws_published_key_spelling_is_read_and_written_canonically():
    recipe = parse_recipe(AWS_STYLE_KEYS)
    lifecycle = recipe.manifests[0].lifecycle
    assert set(lifecycle) == {"Setenv", "Run"}
    assert lifecycle["Run"] == {"RequiresPrivilege": True,
                                "Script": "python3 {artifacts:decompressedPath}/ic/inference.py"}
    art = recipe.manifests[0].artifacts[0]
    assert art.file_name == "image_classification.zip" and art.algorithm == "SHA-256"
    dumped = recipe.to_dict()
    assert "URI" in dumped["Manifests"][0]["Artifacts"][0]
    assert parse_recipe(dumped) == recipe


@pytest.mark.parametrize("overrides, field_text", [
    ({"ComponentName": "../etc"}, "ComponentName '../etc'"),
    ({"ComponentName": "-rf"}, "ComponentName '-rf'"),
    ({"ComponentName": "a b"}, "ComponentName 'a b'"),
    ({"ComponentName": "x" * 129}, "ComponentName"),
    ({"ComponentVersion": 1.0}, "quote it"),
    ({"ComponentVersion": "1.0"}, "ComponentVersion '1.0'"),
    ({"ComponentVersion": "01.0.0"}, "ComponentVersion '01.0.0'"),
    ({"RecipeFormatVersion": "2021-01-01"}, "RecipeFormatVersion"),
    ({"Manifests": []}, "Manifests"),
    ({"Lifecyle": {}}, "Lifecyle"),
    ({"component_name": "x"}, "component_name"),
    ({"ComponentDependencies": {"B": {"VersionRequirement": "latest"}}}, "VersionRequirement 'latest'"),
    ({"ComponentDependencies": {"B": {"VersionRequirement": "1.0.0", "DependencyType": "MEDIUM"}}},
     "DependencyType"),
    ({"ComponentDependencies": {"com.example.App": {"VersionRequirement": "1.0.0"}}}, "depends on itself"),
    ({"ComponentConfiguration": {"DefaultConfiguration": {"when": float("nan")}}}, "DefaultConfiguration.when"),
    ({"Manifests": [{"Lifecycle": {"Run": "a", "Startup": "b"}}]}, "only one of Run or Startup"),
    ({"Manifests": [{"Lifecycle": {"Install": {"Timeout": -1, "Script": "x"}}}]}, "Install.Timeout"),
    ({"Manifests": [{"Lifecycle": {"Install": {"Skipif": "maybe", "Script": "x"}}}]}, "Install.Skipif"),
    ({"Manifests": [{"Lifecycle": {"Install": {"RequiresPrivilege": "yes", "Script": "x"}}}]},
     "RequiresPrivilege"),
    ({"Manifests": [{"Lifecycle": {"Setenv": {"A": 1}}}]}, "Setenv.A"),
    ({"Manifests": [{"Lifecycle": {"Run": "x", "run": "y"}}]}, "given twice"),
    ({"Manifests": [{"Platform": {"os": "/[/"}}]}, "Platform.os"),
    ({"Manifests": [{"Artifacts": [{"URI": "http://x/y.zip"}]}]}, "URI"),
    ({"Manifests": [{"Artifacts": [{"URI": "s3://b/.."}]}]}, "plain file name"),
    ({"Manifests": [{"Artifacts": [{"URI": "s3://b/a.zip"}, {"URI": "s3://c/a.zip"}]}]}, "'a.zip'"),
    ({"Manifests": [{"Artifacts": [{"URI": "s3://b/a.zip", "Digest": "abc=", "Algorithm": "SHA-256"}]}]},
     "Digest 'abc='"),
    ({"Manifests": [{"Artifacts": [{"URI": "s3://b/a.zip",
                                    "Digest": "rozM+acRNzNGuUXokMX43EoAs6hMaw1tw2eQtiBqrEw="}]}]}, "Algorithm"),
])
def test_invalid_recipes_fail_with_one_line_naming_recipe_component_and_field(overrides, field_text):
    with pytest.raises(RecipeError) as info:
        parse_recipe(minimal(**overrides), source="recipes/app.yaml")
    first_line = str(info.value).splitlines()[0]
    assert "recipe recipes/app.yaml: component " in first_line
    assert field_text in first_line
    assert info.value.step == "validate recipe"


def test_yaml_problems_are_recipe_errors():
    for text, words in [("a: [1", "not valid YAML"), ("- 1\n- 2", "must be a mapping"), (b"\xff\xfe", "not UTF-8"),
                        ("a: &x [1]\nb: *x", "aliases"), ("x" * (1 << 20 + 1), "larger than"),
                        ("[" * 5000, "nested too deeply"), ("x: !!python/object:os.system [ls]", "constructor"),
                        ("RecipeFormatVersion: 2020-01-25\nComponentName: x\nComponentVersion: 1.0.0\n"
                         "ComponentConfiguration: {DefaultConfiguration: {a: " + "[" * 70 + "]" * 70 + "}}\n"
                         "Manifests: [{}]", "nested deeper than 64")]:
        with pytest.raises(RecipeError, match=words):
            load_recipe(text, source="r.yaml")


def test_global_lifecycle_selection_keys():
    recipe = parse_recipe(minimal(
        Lifecycle={"key1": {"Install": {"Skipif": "onpath executable", "Script": "command1"}},
                   "all": {"Install": {"Script": {"key3": "command3", "all": "command5"}}}},
        Manifests=[{"Selections": ["key1"]}]))
    assert recipe.lifecycle["all"]["Install"]["Script"] == {"key3": "command3", "all": "command5"}
    with pytest.raises(RecipeError, match="unknown lifecycle step 'key1'"):
        parse_recipe(minimal(Manifests=[{"Lifecycle": {"key1": {"Run": "x"}}}]))


def test_component_name_check_is_shared_with_cli_arguments():
    assert check_component_name("aws.greengrass.Nucleus") == "aws.greengrass.Nucleus"
    for bad in ("", ".", "..", "a/b", "a;rm", "a\n", "é"):
        with pytest.raises(ValueError):
            check_component_name(bad)


# --- fuzzing -------------------------------------------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=12), kids, max_size=4),
    max_leaves=20)
recipe_keys = st.sampled_from(["RecipeFormatVersion", "ComponentName", "ComponentVersion", "Manifests", "Lifecycle",
                               "ComponentDependencies", "ComponentConfiguration", "Platform", "Artifacts", "URI",
                               "Digest", "Run", "Install", "Script", "Timeout", "Setenv", "run", "uri"])


def mutated_recipes():
    """Near-valid recipes with one subtree replaced by junk: exercises the deep validators."""
    base = parse_recipe(AWS_STYLE_KEYS).to_dict()

    def replace(data, path, value):
        node = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        return data

    paths = [("ComponentName",), ("ComponentVersion",), ("Manifests",), ("Manifests", 0, "Lifecycle"),
             ("Manifests", 0, "Lifecycle", "Run"), ("Manifests", 0, "Artifacts"), ("Manifests", 0, "Platform"),
             ("ComponentDependencies",), ("Manifests", 0, "Artifacts", 0, "Digest")]
    junk = json_values | st.dictionaries(recipe_keys, json_values, max_size=4)
    return st.tuples(st.sampled_from(paths), junk).map(lambda pv: replace(json.loads(json.dumps(base)), *pv))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=300), st.binary(max_size=200),
                 json_values.map(lambda v: yaml.safe_dump(v)),
                 mutated_recipes().map(json.dumps)))
def test_fuzz_any_text_gives_recipe_or_recipe_error(text):
    try:
        recipe = load_recipe(text, source="fuzz")
    except RecipeError as exc:
        assert str(exc).splitlines()[0].startswith("validate recipe: [deployment] recipe fuzz")
    else:
        assert isinstance(recipe, Recipe)
        assert load_recipe(recipe.to_yaml()) == recipe


@settings(max_examples=300, deadline=None)
@given(st.one_of(mutated_recipes(), st.dictionaries(recipe_keys, json_values, max_size=6)))
def test_fuzz_structures_give_recipe_or_recipe_error(data):
    try:
        recipe = parse_recipe(data, source="fuzz")
    except RecipeError:
        return
    assert parse_recipe(json.loads(recipe.to_json())) == recipe
