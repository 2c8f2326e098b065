"""`ExportedSAM2Model`: an export folder as a `masklet.backend.TrackingModel`, whatever runtime
runs its graphs. The network's steps are the exported graphs, called through a `GraphRunner`
(ONNX Runtime's in `masklet.onnxrt`, OpenVINO's in `masklet.openvino`); the rules between them
come from `masklet.backend.heads` as for every backend, and the glue computes with numpy
(`NumpyArrays`), so nothing here imports torch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from masklet.backend.numpy_arrays import NumpyArrays
from masklet.backend.outputs import MaskProposals
from masklet.errors import CheckpointError, OptionError
from masklet.exported.graphs import GraphRunner
from masklet.exported.manifest import EMBEDDINGS_FILE, is_export_folder, read_manifest


def export_manifest(folder, backend: str, config=None, device="cpu") -> dict:
    """The manifest of the export folder a graph backend loads, after the checks every such
    backend shares: no config of the caller's (the export's own is used), the cpu."""
    if config is not None:
        raise OptionError(f"backend={backend!r} takes the config from the export's manifest.json; pass no config")
    if str(device) != "cpu":
        raise OptionError(f"backend={backend!r} runs on the cpu, not {device}; use the cpu")
    if not is_export_folder(folder):
        raise CheckpointError(
            f"{folder}: backend={backend!r} loads a folder written by `masklet export --format onnx MODEL OUT/`; "
            f"export the model first, then load OUT/"
        )
    return read_manifest(folder)


def dtype_name(dtype) -> str:
    """A dtype given as None (the default, float32), a torch dtype or its name -> its name."""
    return "float32" if dtype is None else str(dtype).removeprefix("torch.")


class ExportedSAM2Model:
    """An export folder as a model, its graphs run by `graphs`; on the CPU, on numpy arrays."""

    device = "cpu"
    arrays = NumpyArrays()

    def __init__(self, graphs: GraphRunner) -> None:
        self.graphs = graphs
        self.backend = graphs.backend
        self.folder: Path = graphs.folder
        self.manifest = graphs.manifest
        self.config = self.manifest["config"]
        self.image_size = self.config.image_size
        self.hidden_dim, self.mem_dim = self.config.d_model, self.config.mem_dim
        with np.load(self.folder / EMBEDDINGS_FILE) as stored:
            embeddings = {k: stored[k].astype(np.float32) for k in stored.files}
        self.no_mem_embed = embeddings["no_mem_embed"]  # [1, 1, C]
        self.no_obj_ptr = embeddings["no_obj_ptr"]  # [1, C]
        self.maskmem_tpos_enc = embeddings["maskmem_tpos_enc"]  # [T, 1, 1, mem]
        self._memory_pos = embeddings["memory_pos"]  # [1, mem, h, w]

    def __repr__(self) -> str:
        return (f"ExportedSAM2Model({str(self.folder)!r}, backend={self.backend!r}, precision={self.graphs.precision!r}, "
                f"config={self.config.name!r})")

    @property
    def precision(self) -> str:
        """The arithmetic its graphs run in: float32, or bfloat16 (OpenVINO where native)."""
        return self.graphs.precision

    def eval(self) -> ExportedSAM2Model:
        """The graphs were exported for inference: nothing to switch."""
        return self

    def forward_image(self, images) -> dict:
        """images [B, 3, S, S] -> backbone features (positions of the lowest-resolution level
        only; the higher ones are None)."""
        out = self.graphs("image_encoder", images=images)
        fpn = [out["high_res_feats_0"], out["high_res_feats_1"], out["vision_feats"]]
        return {"backbone_fpn": fpn, "vision_pos_enc": [None, None, out["vision_pos"]], "vision_features": fpn[-1]}

    def decode_prompts(
        self, image_embed, high_res_feats, point_coords, point_labels, mask_input, multimask_output
    ) -> MaskProposals:
        """The decoder graph (`prompt_decoder`, or `mask_decoder` without points) for B prompts;
        an image_embed of one row serves them all."""
        batch = image_embed.shape[0] if point_coords is None else point_coords.shape[0]
        if mask_input is not None:
            batch = max(batch, mask_input.shape[0])
        low = 4 * self.config.image_embedding_size
        has_mask_input = np.array([0.0 if mask_input is None else 1.0], np.float32)
        if mask_input is None:
            mask_input = np.zeros((1, 1, low, low), np.float32)
        inputs = {
            "image_embed": self._rows(image_embed, batch),
            "high_res_feats_0": high_res_feats[0], "high_res_feats_1": high_res_feats[1],
            "mask_input": self._rows(mask_input, batch),
            "has_mask_input": has_mask_input,
        }
        if point_coords is None:
            out = self.graphs("mask_decoder", **inputs)
        else:
            out = self.graphs("prompt_decoder", **inputs, point_coords=point_coords,
                              point_labels=point_labels.astype(np.int64, copy=False))
        mode = "multi" if multimask_output else "single"
        return MaskProposals(out[f"{mode}_masks"], out[f"{mode}_ious"], out[f"{mode}_pointers"], out["object_score_logits"])

    def _rows(self, x: np.ndarray, batch: int) -> np.ndarray:
        """x [1 or batch, ...] -> [batch, ...] (the graphs take one row per prompt)."""
        return self.arrays.repeat_rows(x, batch) if x.shape[0] == 1 else x

    def downsample_mask(self, masks) -> np.ndarray:
        return self.graphs("mask_prompt", masks=masks)["mask_input"]

    def encode_memory(self, vision_feats, high_res_masks, object_score_logits, binarize: bool) -> np.ndarray:
        """vision_feats [1 or B, C, h, w], masks [B, 1, S, S] -> memories [B, mem_dim, h, w]."""
        return self.graphs(
            "memory_encoder", vision_feats=vision_feats, masks=high_res_masks,
            object_score_logits=object_score_logits, binarize=np.array([bool(binarize)]),
        )["memory"]

    def memory_queries(self, curr, curr_pos) -> np.ndarray:
        """The exported graph holds all of memory attention, so a frame's queries are its tokens
        and their position code side by side: [1 or B, hw, 2C]."""
        return np.concatenate([curr, curr_pos], axis=-1)

    def attend_memory(
        self, queries, memory, memory_pos, num_obj_ptr_tokens: int = 0, memory_pool: int = 1,
        num_pooled_tokens: int = 0,
    ) -> np.ndarray:
        """`memory_queries` rows, memory / memory_pos [B, M, mem_dim] whose last
        `num_obj_ptr_tokens` tokens are object pointers -> [B, hw, C]. The exported graph
        attends to every token: no `memory_pool`."""
        if memory_pool != 1 and num_pooled_tokens:
            raise OptionError(
                f"the exported memory-attention graph ({self.backend}) attends to every memory token; "
                "pooled memory needs backend='torch'"
            )
        queries = self._rows(queries, memory.shape[0])
        curr, curr_pos = np.split(queries, 2, axis=-1)
        spatial = memory.shape[1] - num_obj_ptr_tokens
        return self.graphs(
            "memory_attention", curr=curr, curr_pos=curr_pos, memory=memory[:, :spatial], memory_pos=memory_pos[:, :spatial],
            obj_ptrs=memory[:, spatial:], obj_ptrs_pos=memory_pos[:, spatial:],
        )["conditioned"]

    def memory_position_encoding(self, height: int, width: int) -> np.ndarray:
        """[1, mem_dim, h, w]: the code computed at export for the model's feature grid."""
        if tuple(self._memory_pos.shape[-2:]) != (height, width):
            raise ValueError(
                f"the export has memory positions for a {tuple(self._memory_pos.shape[-2:])} grid, not {(height, width)}"
            )
        return self._memory_pos

    def pointer_temporal_code(self, positions) -> np.ndarray:
        return self.graphs("pointer_position", positions=positions)["pointer_pos"]
