"""The manifest of an exported model folder (`manifest.json`): the model config, every graph's
file, inputs and outputs (shapes with named dynamic axes, dtypes), and the learned embeddings
the tracking glue adds between graphs (`embeddings.npz`).

Written by `masklet.export`, read by every backend that runs the graphs (`masklet.onnxrt`, `masklet.openvino`).
"""

from __future__ import annotations

import json
from pathlib import Path

from masklet.config import SAM2Config
from masklet.errors import CheckpointError, ConfigError

MANIFEST_FILE = "manifest.json"
EMBEDDINGS_FILE = "embeddings.npz"
FORMAT = "masklet-onnx"
VERSION = 2  # 2: per-mask object pointers, the mask_decoder graph
GRAPHS = (
    "image_encoder", "prompt_decoder", "mask_decoder", "mask_prompt", "memory_encoder", "memory_attention", "pointer_position",
)
# no_mem_embed [1, 1, C], no_obj_ptr [1, C], maskmem_tpos_enc [T, 1, 1, mem], memory_pos [1, mem, h, w]
EMBEDDINGS = ("no_mem_embed", "no_obj_ptr", "maskmem_tpos_enc", "memory_pos")


class ManifestError(CheckpointError):
    """A folder that is not a complete Masklet ONNX export."""


def is_export_folder(path: str | Path) -> bool:
    return (Path(path) / MANIFEST_FILE).is_file()


def read_manifest(folder: str | Path) -> dict:
    """The checked manifest of an export folder; its "config" entry is a SAM2Config."""
    folder = Path(folder)
    path = folder / MANIFEST_FILE
    if not path.is_file():
        raise ManifestError(f"{folder}: no {MANIFEST_FILE}; make the folder with `masklet export --format onnx MODEL {folder}`")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ManifestError(f"{path}: not valid UTF-8 JSON ({e})") from None
    if not isinstance(manifest, dict):
        raise ManifestError(f"{path}: the top level is a {type(manifest).__name__}, not an object")
    if manifest.get("format") != FORMAT:
        raise ManifestError(f"{path}: format is {manifest.get('format')!r}, expected {FORMAT!r}")
    if manifest.get("version") != VERSION:
        raise ManifestError(
            f"{path}: manifest version {manifest.get('version')!r}; this masklet reads version {VERSION}: re-export the model"
        )
    graphs, model = manifest.get("graphs", {}), manifest.get("model")
    if not isinstance(graphs, dict) or not all(isinstance(g, dict) and isinstance(g.get("file", ""), str) for g in graphs.values()):
        raise ManifestError(f"{path}: 'graphs' must map graph names to {{\"file\": name}}; re-export the model")
    if not isinstance(model, dict) or "config" not in model:
        raise ManifestError(f"{path}: no model config; re-export the model")
    missing = [g for g in GRAPHS if not _inside(folder, graphs.get(g, {}).get("file", f"{g}.onnx"))]
    if missing or not (folder / EMBEDDINGS_FILE).is_file():
        files = [f"{g}.onnx" for g in missing] + ([] if (folder / EMBEDDINGS_FILE).is_file() else [EMBEDDINGS_FILE])
        raise ManifestError(f"{folder}: missing {', '.join(files)}; re-export the model into an empty folder")
    try:
        manifest["config"] = SAM2Config.from_dict(model["config"])
    except ConfigError as e:
        raise ManifestError(f"{path}: {e}; re-export the model") from None
    return manifest


def _inside(folder: Path, name: str) -> bool:
    """Whether `name` is a file in `folder` itself (a manifest never points elsewhere)."""
    if not name or "\0" in name or Path(name).name != name:
        return False
    try:
        return (folder / name).is_file()
    except OSError:  # a name too long for the file system
        return False


def write_manifest(folder: Path, manifest: dict) -> Path:
    path = folder / MANIFEST_FILE
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    return path
