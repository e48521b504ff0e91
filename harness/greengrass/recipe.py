"""Component recipes (RecipeFormatVersion 2020-01-25): typed model, validation, YAML/JSON.

The field list follows the Greengrass v2 developer guide's "component recipe reference". Keys are
matched case-insensitively, as the nucleus does (AWS's own public recipes mix ``Run``/``run``,
``Script``/``script``, ``URI``/``Uri``); we always write the documented spelling back.
Names and versions are checked by ``names.py``, before anything is uploaded.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import json
import math
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from harness.greengrass.errors import RecipeError
from harness.greengrass.names import (
    ARTIFACT_FILE_RE,
    NAME_RE,
    VERSION_REQUIREMENT_RE,
    check_component_name,
    check_version,
)
from harness.greengrass.recipe_keys import normalize_lifecycle
from harness.primitives.validation import first_error

RECIPE_FORMAT_VERSION = "2020-01-25"
MAX_RECIPE_BYTES = 1 << 20
_MAX_DEPTH = 64

_PLATFORM_KEY_RE = re.compile(r"[A-Za-z][A-Za-z0-9._-]{0,127}", re.ASCII)
_PLATFORM_EXACT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}", re.ASCII)


class _Model(BaseModel):
    """Recipe keys are documented in PascalCase; the nucleus reads them case-insensitively."""

    # Only the documented (alias) spellings are accepted: a recipe with ``component_name`` is wrong.
    model_config = ConfigDict(extra="forbid", frozen=True, validate_by_alias=True, validate_by_name=False,
                              serialize_by_alias=True)

    @model_validator(mode="before")
    @classmethod
    def _canonical_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        spelled = {(f.alias or n).lower(): (f.alias or n) for n, f in cls.model_fields.items()}
        out: dict[str, Any] = {}
        for key, value in data.items():
            if not isinstance(key, str):
                raise ValueError(f"key {key!r} is not a string")
            canon = spelled.get(key.lower(), key)
            if canon in out:
                raise ValueError(f"{canon} is given twice (keys that differ only in case)")
            out[canon] = value
        return out


class Permission(_Model):
    read: Literal["NONE", "OWNER", "ALL"] = Field("OWNER", alias="Read")
    execute: Literal["NONE", "OWNER", "ALL"] = Field("NONE", alias="Execute")

    @field_validator("read", "execute", mode="before")
    @classmethod
    def _upper(cls, v: Any) -> Any:
        return v.upper() if isinstance(v, str) else v


class ComponentArtifact(_Model):
    uri: str = Field(alias="URI")
    digest: str | None = Field(None, alias="Digest")
    algorithm: Literal["SHA-256"] | None = Field(None, alias="Algorithm")
    unarchive: Literal["NONE", "ZIP"] = Field("NONE", alias="Unarchive")
    permission: Permission | None = Field(None, alias="Permission")

    @field_validator("unarchive", mode="before")
    @classmethod
    def _upper(cls, v: Any) -> Any:
        return v.upper() if isinstance(v, str) else v

    @field_validator("uri")
    @classmethod
    def _uri(cls, uri: str) -> str:
        scheme, sep, rest = uri.partition(":")
        if not sep or scheme not in ("s3", "greengrass", "docker"):
            raise ValueError(f"URI {uri!r} must start with s3://, greengrass: or docker:")
        if scheme != "docker":
            name = rest.rsplit("/", 1)[-1]
            if not ARTIFACT_FILE_RE.fullmatch(name):
                raise ValueError(f"URI {uri!r} must end in a plain file name (letters, digits, '.', '_', "
                                 "'+', '-'): it becomes the artifact's file name on the device")
        return uri

    @model_validator(mode="after")
    def _digest(self) -> ComponentArtifact:
        if (self.digest is None) != (self.algorithm is None):
            raise ValueError("Digest and Algorithm go together (Algorithm: SHA-256, Digest: base64 of the hash)")
        if self.digest is not None:
            try:
                raw = base64.b64decode(self.digest, validate=True)
            except (binascii.Error, ValueError):
                raw = b""
            if len(raw) != 32:
                raise ValueError(f"Digest {self.digest!r} is not a base64 SHA-256 (44 characters ending in '=')")
        return self

    @property
    def file_name(self) -> str:
        """The name the nucleus gives the file under ``artifacts/<name>/<version>/``."""
        return self.uri.rsplit("/", 1)[-1].split(":", 1)[-1]


class Dependency(_Model):
    version_requirement: str = Field(alias="VersionRequirement")
    dependency_type: Literal["HARD", "SOFT"] = Field("HARD", alias="DependencyType")

    @field_validator("dependency_type", mode="before")
    @classmethod
    def _upper(cls, v: Any) -> Any:
        return v.upper() if isinstance(v, str) else v

    @field_validator("version_requirement")
    @classmethod
    def _range(cls, req: str) -> str:
        if len(req) > 256 or not VERSION_REQUIREMENT_RE.fullmatch(req):
            raise ValueError(f"VersionRequirement {req!r} is not an npm-style range like ^1.0.0 or >=1.0.0 <2.0.0")
        return req


class ComponentConfiguration(_Model):
    default_configuration: dict[str, Any] = Field(default_factory=dict, alias="DefaultConfiguration")

    @field_validator("default_configuration", mode="before")
    @classmethod
    def _json(cls, value: Any) -> Any:
        _check_json(value, "DefaultConfiguration", 0)
        return value


class Manifest(_Model):
    name: str | None = Field(None, alias="Name")
    platform: dict[str, str] = Field(default_factory=dict, alias="Platform")
    lifecycle: dict[str, Any] | None = Field(None, alias="Lifecycle")
    selections: list[str] | None = Field(None, alias="Selections")
    artifacts: list[ComponentArtifact] = Field(default_factory=list, alias="Artifacts")

    @field_validator("platform", mode="before")
    @classmethod
    def _platform(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        for key, val in value.items():
            if not isinstance(key, str) or not _PLATFORM_KEY_RE.fullmatch(key):
                raise ValueError(f"Platform key {key!r} is not an attribute name like os or architecture")
            if not isinstance(val, str):
                raise ValueError(f"Platform.{key} must be a string, got {val!r}")
            if val == "*" or _PLATFORM_EXACT_RE.fullmatch(val):
                continue
            if len(val) >= 2 and val.startswith("/") and val.endswith("/"):
                try:
                    re.compile(val[1:-1])
                    continue
                except re.error as exc:
                    raise ValueError(f"Platform.{key} regular expression {val!r} does not compile: {exc}") from None
            raise ValueError(f"Platform.{key} {val!r} must be an exact value starting with a letter or digit, "
                             "'*' or a /regular expression/")
        return value

    @field_validator("lifecycle", mode="before")
    @classmethod
    def _lifecycle(cls, value: Any) -> Any:
        return None if value is None else normalize_lifecycle(value, "Lifecycle", selections=False)

    @field_validator("artifacts")
    @classmethod
    def _unique_files(cls, artifacts: list[ComponentArtifact]) -> list[ComponentArtifact]:
        seen: set[str] = set()
        for art in artifacts:
            if art.uri.startswith("docker:"):
                continue
            if art.file_name in seen:
                raise ValueError(f"two artifacts are both named {art.file_name!r}; file names must be unique "
                                 "within a manifest")
            seen.add(art.file_name)
        return artifacts


class Recipe(_Model):
    recipe_format_version: Literal["2020-01-25"] = Field(alias="RecipeFormatVersion")
    component_name: str = Field(alias="ComponentName")
    component_version: str = Field(alias="ComponentVersion")
    component_description: str | None = Field(None, alias="ComponentDescription")
    component_publisher: str | None = Field(None, alias="ComponentPublisher")
    component_type: Literal["aws.greengrass.generic", "aws.greengrass.lambda", "aws.greengrass.plugin",
                            "aws.greengrass.nucleus"] | None = Field(None, alias="ComponentType")
    component_source: str | None = Field(None, alias="ComponentSource")
    component_configuration: ComponentConfiguration | None = Field(None, alias="ComponentConfiguration")
    component_dependencies: dict[str, Dependency] = Field(default_factory=dict, alias="ComponentDependencies")
    manifests: list[Manifest] = Field(alias="Manifests", min_length=1)
    lifecycle: dict[str, Any] | None = Field(None, alias="Lifecycle")

    @field_validator("recipe_format_version", mode="before")
    @classmethod
    def _format(cls, value: Any) -> Any:
        # An unquoted 2020-01-25 is a YAML date.
        return value.isoformat() if isinstance(value, _dt.date) else value

    @field_validator("component_name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> Any:
        return check_component_name(value)

    @field_validator("component_version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        return check_version(value)

    @field_validator("component_dependencies", mode="before")
    @classmethod
    def _dep_names(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for dep in value:
                check_component_name(dep, "ComponentDependencies key")
        return value

    @field_validator("lifecycle", mode="before")
    @classmethod
    def _lifecycle(cls, value: Any) -> Any:
        return None if value is None else normalize_lifecycle(value, "Lifecycle", selections=True)

    @model_validator(mode="after")
    def _not_self_dependent(self) -> Recipe:
        if self.component_name in self.component_dependencies:
            raise ValueError(f"ComponentDependencies: {self.component_name} depends on itself")
        return self

    @property
    def ref(self) -> str:
        """``name@version``, the way our messages name a component version."""
        return f"{self.component_name}@{self.component_version}"

    @property
    def default_configuration(self) -> dict[str, Any]:
        return dict(self.component_configuration.default_configuration) if self.component_configuration else {}

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True) | {
            "RecipeFormatVersion": self.recipe_format_version}

    def to_yaml(self) -> str:
        return yaml.dump(_ordered(self.to_dict()), Dumper=_RecipeDumper, sort_keys=False, allow_unicode=True,
                         width=1000)

    def to_json(self) -> str:
        return json.dumps(_ordered(self.to_dict()), indent=2)

    def with_digests(self, digests: dict[str, str]) -> Recipe:
        """A copy whose artifacts named in ``digests`` (file name -> base64 SHA-256) carry them."""
        manifests = []
        for man in self.manifests:
            arts = [a.model_copy(update={"digest": digests[a.file_name], "algorithm": "SHA-256"})
                    if a.file_name in digests else a for a in man.artifacts]
            manifests.append(man.model_copy(update={"artifacts": arts}))
        return self.model_copy(update={"manifests": manifests})


_TOP_ORDER = ["RecipeFormatVersion", "ComponentName", "ComponentVersion", "ComponentDescription",
              "ComponentPublisher", "ComponentType", "ComponentSource", "ComponentConfiguration",
              "ComponentDependencies", "Manifests", "Lifecycle"]


def _ordered(data: dict[str, Any]) -> dict[str, Any]:
    """The documented key order, so written recipes read like AWS's."""
    return {k: data[k] for k in _TOP_ORDER if k in data}


def _check_json(value: Any, where: str, depth: int) -> None:
    """DefaultConfiguration travels as JSON: refuse YAML-only values (dates, sets, bytes, NaN)."""
    if depth > _MAX_DEPTH:
        raise ValueError(f"{where} is nested deeper than {_MAX_DEPTH} levels")
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f"{where}: key {k!r} is not a string")
            _check_json(v, f"{where}.{k}", depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_json(v, f"{where}[{i}]", depth + 1)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where}: {value!r} is not a JSON number")
    elif not isinstance(value, (str, int, float, bool, type(None))):
        raise ValueError(f"{where}: {type(value).__name__} value {value!r} is not JSON (quote it)")


class _RecipeDumper(yaml.SafeDumper):
    """Multi-line scripts as YAML block literals (``|``), the way recipes are written by hand."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


_RecipeDumper.add_representer(str, lambda dumper, text: dumper.represent_scalar(
    "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None))


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader without anchors/aliases: recipes never need them, and alias bombs would make
    validation exponential."""

    def compose_node(self, parent: Any, index: Any) -> Any:  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "YAML aliases (*name) are not allowed in recipes",
                                              event.start_mark)
        return super().compose_node(parent, index)


def _name_hint(data: Any) -> str:
    if isinstance(data, dict):
        for key, val in data.items():
            if isinstance(key, str) and key.lower() == "componentname" and isinstance(val, str):
                return val if NAME_RE.fullmatch(val) else repr(val[:60])
    return "?"


def parse_recipe(data: Any, *, source: str = "<recipe>") -> Recipe:
    """Validate already-parsed recipe data; RecipeError names the recipe, component and field."""
    try:
        return Recipe.model_validate(data)
    except ValidationError as exc:
        raise RecipeError(f"recipe {source}: component {_name_hint(data)}: {first_error(exc)}",
                          step="validate recipe",
                          advice="fix the recipe; see the Greengrass component recipe reference") from None
    except RecursionError:
        raise RecipeError(f"recipe {source}: nested too deeply", step="validate recipe") from None


def load_recipe(text: str | bytes, *, source: str = "<recipe>") -> Recipe:
    """A Recipe from YAML or JSON text (JSON is read as YAML, as the nucleus accepts both)."""
    if len(text) > MAX_RECIPE_BYTES:
        raise RecipeError(f"recipe {source}: larger than {MAX_RECIPE_BYTES} bytes", step="validate recipe")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RecipeError(f"recipe {source}: not UTF-8 text ({exc.reason} at byte {exc.start})",
                              step="validate recipe") from None
    try:
        data = yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise RecipeError(f"recipe {source}: not valid YAML/JSON{line}: {problem}", step="validate recipe") from None
    except RecursionError:
        raise RecipeError(f"recipe {source}: nested too deeply to read", step="validate recipe") from None
    except (ValueError, OverflowError) as exc:
        raise RecipeError(f"recipe {source}: cannot be read: {exc}", step="validate recipe") from None
    if not isinstance(data, dict):
        raise RecipeError(f"recipe {source}: must be a mapping with RecipeFormatVersion, ComponentName, ...",
                          step="validate recipe")
    return parse_recipe(data, source=source)


def read_recipe(path: Path) -> Recipe:
    try:
        text = Path(path).read_bytes()
    except OSError as exc:
        raise RecipeError(f"recipe {path}: cannot be read: {exc.strerror or exc}", step="validate recipe") from None
    return load_recipe(text, source=str(path))
