"""`export_onnx`: a SAM2Model -> a folder of ONNX graphs, `embeddings.npz` and `manifest.json`.

The graphs are traced with torch's TorchScript-based ONNX exporter (`dynamo=False`): it needs
nothing beyond torch and onnx, and keeps shape arithmetic (memory frames, pointers, points,
objects) symbolic through `dynamic_axes`. Opset 17 is the default: the first with a native
LayerNormalization, run by every onnxruntime release on PyPI since 1.14.
"""

from __future__ import annotations

import contextlib
import copy
import io
import warnings
from pathlib import Path

import numpy as np
import torch

from masklet.errors import MaskletError
from masklet.export.graphs import GraphSpec, example_sizes, graph_specs
from masklet.export.half import halve_weights
from masklet.export.int8 import quantize_weights
from masklet.exported.manifest import (
    EMBEDDINGS_FILE,
    FORMAT,
    VERSION,
    write_manifest,
)
from masklet.model.sam2 import SAM2Model

DEFAULT_OPSET = 17
# LayerNormalization arrived in 17; the TorchScript exporter writes opsets up to 20.
SUPPORTED_OPSETS = range(17, 21)
WEIGHT_DTYPES = ("float32", "float16", "int8")
# int8 is applied to the heavy graphs only: quantizing the mask decoder's inputs moves click
# prompts' masks far more (masklet-nano, an ambiguous click: IoU 0.78 with it, 0.90 without).
INT8_GRAPHS = ("image_encoder", "memory_encoder", "memory_attention")


class ExportError(MaskletError, ValueError):
    """A model or an option that cannot be exported; the message says what to change."""


def check_exportable(model: SAM2Model, opset: int, weights: str) -> None:
    if not isinstance(model, SAM2Model):
        raise ExportError(f"only a masklet SAM2Model can be exported, got {type(model).__name__}")
    if opset not in SUPPORTED_OPSETS:
        raise ExportError(
            f"opset {opset} cannot be exported: use {SUPPORTED_OPSETS.start}..{SUPPORTED_OPSETS.stop - 1} "
            f"(default {DEFAULT_OPSET}; LayerNormalization needs 17)"
        )
    if weights not in WEIGHT_DTYPES:
        raise ExportError(f"weights {weights!r} cannot be exported: choose one of {', '.join(WEIGHT_DTYPES)}")
    if model.dtype != torch.float32:
        raise ExportError(
            f"the model's weights are {str(model.dtype).removeprefix('torch.')}: export loads float32 weights "
            "(load the model with dtype=torch.float32) and writes float16 ones with weights='float16'"
        )
    cfg = model.config
    if cfg.d_model % cfg.mem_dim:
        raise ExportError(
            f"{cfg.name}: d_model {cfg.d_model} is not a multiple of mem_dim {cfg.mem_dim}; object pointers "
            "cannot be split into memory tokens"
        )
    if cfg.image_size % (cfg.backbone_stride * 4):
        raise ExportError(f"{cfg.name}: image_size {cfg.image_size} is not a multiple of {cfg.backbone_stride * 4}")


def empty_folder(folder: str | Path) -> Path:
    """`folder`, created if missing; an existing one must be an empty folder."""
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ExportError(f"{folder} exists and is not an empty folder; give a new or empty folder")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def export_onnx(
    model: SAM2Model, folder: str | Path, opset: int = DEFAULT_OPSET, weights: str = "float32", verify: bool = True
) -> Path:
    """Write every graph of `model` into `folder` (created; must be empty if it exists) and
    return the manifest's path. With `verify`, each graph is run by onnxruntime on the
    example inputs and its largest difference from torch is recorded in the manifest."""
    check_exportable(model, opset, weights)
    folder = empty_folder(folder)
    model = copy.deepcopy(model).eval()
    graphs = {}
    for spec in graph_specs(model):
        graphs[spec.name] = export_graph(model, spec, folder, opset, weights, verify)
    np.savez(folder / EMBEDDINGS_FILE, **_embeddings(model))
    import onnx

    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "model": {"name": model.config.name, "config": model.config.to_dict()},
        "opset": opset,
        "weights": weights,
        "exporter": {"torch": torch.__version__, "onnx": onnx.__version__},
        "graphs": graphs,
        "embeddings": {"file": EMBEDDINGS_FILE, "arrays": {k: list(v.shape) for k, v in _embeddings(model).items()}},
    }
    return write_manifest(folder, manifest)


def _embeddings(model: SAM2Model) -> dict[str, np.ndarray]:
    """Learned embeddings and the constant memory position code the glue between graphs adds."""
    h = model.config.image_embedding_size
    with torch.no_grad():
        tensors = {
            "no_mem_embed": model.no_mem_embed, "no_obj_ptr": model.no_obj_ptr,
            "maskmem_tpos_enc": model.maskmem_tpos_enc, "memory_pos": model.memory_position_encoding(h, h),
        }
        return {k: v.detach().float().cpu().numpy() for k, v in tensors.items()}


def export_graph(
    model: SAM2Model, spec: GraphSpec, folder: Path, opset: int, weights: str, verify: bool,
    sizes: dict[str, int] | None = None,
) -> dict:
    """Write `spec`'s graph to folder/NAME.onnx with weights stored as `weights` and return its
    manifest entry (file, weights, inputs and outputs; with `verify`, the largest difference
    between onnxruntime and torch on the example inputs). `sizes`: the example's dynamic axes
    (default `example_sizes(model)`)."""
    import onnx

    wrapper = spec.build(model).eval()
    inputs = spec.example(sizes or example_sizes(model), torch.Generator().manual_seed(0))
    path = folder / f"{spec.name}.onnx"
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper, inputs, buffer, dynamo=False, opset_version=opset, do_constant_folding=True,
            input_names=list(spec.inputs), output_names=list(spec.outputs), dynamic_axes=spec.dynamic_axes(),
        )
    proto = onnx.load_from_string(buffer.getvalue())
    if weights == "float16":
        proto = halve_weights(proto)
    elif weights == "int8" and spec.name in INT8_GRAPHS:
        proto = quantize_weights(proto)
    onnx.checker.check_model(proto)
    onnx.save(proto, path)
    entry = {
        "file": path.name,
        "weights": "float32" if weights == "int8" and spec.name not in INT8_GRAPHS else weights,
        "inputs": {n: {"shape": list(s), "dtype": str(spec.dtypes.get(n, torch.float32)).removeprefix("torch.")}
                   for n, s in spec.inputs.items()},
        "outputs": {n: {"shape": list(s), "dtype": "float32"} for n, s in spec.outputs.items()},
    }
    if verify:
        entry["max_abs_diff_on_examples"] = _verify(wrapper, spec, path, inputs)
    return entry


def _verify(wrapper: torch.nn.Module, spec: GraphSpec, path: Path, inputs) -> float:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        expected = wrapper(*inputs)
    expected = expected if isinstance(expected, tuple) else (expected,)
    got = session.run(None, {n: t.numpy() for n, t in zip(spec.inputs, inputs)})
    return max(float(np.abs(g - e.numpy()).max()) for g, e in zip(got, expected))
