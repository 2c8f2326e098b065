"""Where the official checkpoints live, and where Masklet caches them."""

from __future__ import annotations

import importlib.resources
import os
from dataclasses import dataclass
from pathlib import Path

_BASE_URL = "https://dl.fbaipublicfiles.com/segment_anything_2"


@dataclass(frozen=True)
class OfficialCheckpoint:
    name: str  # registry name, also the config name
    url: str
    size_mb: int  # approximate download size
    reference_config: str = ""  # the config file Meta's `sam2` package builds it from

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]


_SIZE_CODES = {"tiny": "t", "small": "s", "base-plus": "b+", "large": "l"}


def _official(version: str, size: str, release: str, size_mb: int) -> OfficialCheckpoint:
    prefix = "sam2" if version == "2.0" else "sam2.1"
    file_stem = f"{prefix}_hiera_{size.replace('-', '_')}"
    return OfficialCheckpoint(
        f"{prefix}-hiera-{size}", f"{_BASE_URL}/{release}/{file_stem}.pt", size_mb,
        f"configs/{prefix}/{prefix}_hiera_{_SIZE_CODES[size]}.yaml",
    )


OFFICIAL_CHECKPOINTS: dict[str, OfficialCheckpoint] = {
    c.name: c
    for c in (
        _official("2.0", "tiny", "072824", 156),
        _official("2.0", "small", "072824", 184),
        _official("2.0", "base-plus", "072824", 323),
        _official("2.0", "large", "072824", 898),
        _official("2.1", "tiny", "092824", 156),
        _official("2.1", "small", "092824", 184),
        _official("2.1", "base-plus", "092824", 323),
        _official("2.1", "large", "092824", 898),
    )
}


def masklet_home() -> Path:
    """Cache root: $MASKLET_HOME, else ~/.cache/masklet."""
    return Path(os.environ.get("MASKLET_HOME") or Path.home() / ".cache" / "masklet")


def cached_path(name: str) -> Path:
    """Where the official checkpoint `name` is (or would be) stored in the cache."""
    return masklet_home() / "checkpoints" / OFFICIAL_CHECKPOINTS[name].filename


# Models whose weights ship inside the package (src/masklet/weights/<name>.pt, float16).
BUNDLED_MODELS = ("masklet-nano", "masklet-lite")


def bundled_path(name: str) -> Path | None:
    """The packaged weights file of bundled model `name`, or None when absent."""
    if name not in BUNDLED_MODELS:
        return None
    resource = importlib.resources.files("masklet") / "weights" / f"{name}.pt"
    return Path(str(resource)) if resource.is_file() else None


def has_weights(config_name: str) -> bool:
    """Whether the registered config `config_name` has weights to load by name (an official
    checkpoint or a bundled model); other registered configs describe a network only."""
    return config_name in OFFICIAL_CHECKPOINTS or config_name in BUNDLED_MODELS
