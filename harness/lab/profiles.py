"""Device profiles: what a device type is (arch, Neo target), its limits when emulated, its budgets."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from harness.lab.paths import PROFILES_DIR
from harness.lab.schema import NAME_PATTERN, load_yaml_model
from harness.primitives.arch import arch as arch_of


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Limits(_Strict):
    """Applied to emulated cores as the container's cgroup limits."""

    memory_mb: int = Field(gt=0)
    cpus: float = Field(gt=0)


class Budgets(_Strict):
    p90_ms: float | None = Field(default=None, gt=0)
    peak_rss_mb: float | None = Field(default=None, gt=0)
    load_s: float | None = Field(default=None, gt=0)


class Runtime(_Strict):
    dlr_abi: str = Field(pattern=r"^tvm-\d+\.\d+$")


class Profile(_Strict):
    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    arch: Literal["x86_64", "aarch64", "armv7l"]
    neo_target: str = Field(pattern=NAME_PATTERN)
    limits: Limits
    runtime: Runtime
    features: dict[str, str] = Field(default_factory=dict)
    budgets: Budgets = Budgets()

    @property
    def docker_arch(self) -> str | None:
        """The emulated core's architecture, or None when this device type cannot be emulated here."""
        return arch_of(self.arch).docker


def load_profile(path: Path) -> Profile:
    return load_yaml_model(Profile, path, path.read_text(errors="replace"))


def load_profiles(directory: Path = PROFILES_DIR) -> dict[str, Profile]:
    profiles = {}
    for path in sorted(directory.glob("*.yaml")):
        profile = load_profile(path)
        profiles[profile.name] = profile
    return profiles
