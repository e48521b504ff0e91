"""Component names, versions and version requirements, validated before they reach a device.

Names and versions end up in device paths (``artifacts/<name>/<version>/``) and in greengrass-cli
arguments, so they are checked strictly: a bad one is a ValueError saying what is allowed.
"""

from __future__ import annotations

import re

#: Greengrass component names: letters, digits, '.', '_', '-' (1-128), as the GreengrassV2 API
#: documents. We also demand a letter or digit first, so a name is never a CLI option ("-x") or
#: a relative path ("..").
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}", re.ASCII)
#: semver.org 2.0.0, the versions Greengrass accepts for ComponentVersion.
SEMVER_RE = re.compile(
    r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(?:-((?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?", re.ASCII)
# npm-style ranges ("^1.1.0", ">=2.0.0 <2.6.0", "~1.6.0", "1.x || 2.0.0 - 2.1.0").
_PART = r"(?:[xX*]|0|[1-9][0-9]*)"
_PARTIAL = rf"[vV=]?{_PART}(?:\.{_PART}(?:\.{_PART}(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)?)?"
_SIMPLE = rf"(?:<=|>=|<|>|=|~>?|\^)?[ ]*{_PARTIAL}"
_RANGE = rf"(?:{_PARTIAL}[ ]+-[ ]+{_PARTIAL}|{_SIMPLE}(?:[ ]+{_SIMPLE})*)"
VERSION_REQUIREMENT_RE = re.compile(rf"[ ]*{_RANGE}[ ]*(?:\|\|[ ]*{_RANGE}[ ]*)*", re.ASCII)
#: The file name an artifact gets on the device: the last segment of its URI.
ARTIFACT_FILE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,254}", re.ASCII)


def check_component_name(name: object, field: str = "ComponentName") -> str:
    """``name`` if it is a valid component name, else ValueError saying what is allowed."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise ValueError(f"{field} {name!r} is not a valid component name: use 1-128 letters, digits, "
                         "'.', '_' or '-', starting with a letter or digit (e.g. com.example.Model)")
    return name


def check_version(version: object, field: str = "ComponentVersion") -> str:
    if not isinstance(version, str) or not SEMVER_RE.fullmatch(version):
        hint = " (quote it in YAML: an unquoted 1.0 is read as a number)" if isinstance(
            version, (int, float)) else ""
        raise ValueError(f"{field} {version!r} is not a semantic version like 1.0.0{hint}")
    return version
