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

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]


def _official(name: str, release: str, file_stem: str, size_mb: int) -> OfficialCheckpoint:
    return OfficialCheckpoint(name, f"{_BASE_URL}/{release}/{file_stem}.pt", size_mb)


OFFICIAL_CHECKPOINTS: dict[str, OfficialCheckpoint] = {
    c.name: c
    for c in (
        _official("sam2-hiera-tiny", "072824", "sam2_hiera_tiny", 156),
        _official("sam2-hiera-small", "072824", "sam2_hiera_small", 184),
        _official("sam2-hiera-base-plus", "072824", "sam2_hiera_base_plus", 323),
        _official("sam2-hiera-large", "072824", "sam2_hiera_large", 898),
        _official("sam2.1-hiera-tiny", "092824", "sam2.1_hiera_tiny", 156),
        _official("sam2.1-hiera-small", "092824", "sam2.1_hiera_small", 184),
        _official("sam2.1-hiera-base-plus", "092824", "sam2.1_hiera_base_plus", 323),
        _official("sam2.1-hiera-large", "092824", "sam2.1_hiera_large", 898),
    )
}


def masklet_home() -> Path:
    """Cache root: $MASKLET_HOME, else ~/.cache/masklet."""
    return Path(os.environ.get("MASKLET_HOME") or Path.home() / ".cache" / "masklet")


def cached_path(name: str) -> Path:
    """Where the official checkpoint `name` is (or would be) stored in the cache."""
    return masklet_home() / "checkpoints" / OFFICIAL_CHECKPOINTS[name].filename


# Models whose weights ship inside the package (src/masklet/weights/<name>.pt).
BUNDLED_MODELS = ("masklet-nano",)


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
