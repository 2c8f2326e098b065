"""`OnnxSAM2Model`: the per-frame operations of `SAM2Model` that `TrackingEngine` and
`ImagePredictor` call, computed by the exported ONNX graphs, so `TrackingSession`,
`VideoPredictor` and `StreamTracker` run unchanged (and `ImagePredictor` through
`propose_masks`) with onnxruntime doing all the network's work. The glue between the graphs
(choosing the best mask, resizing logits, adding the learned embeddings kept in
`embeddings.npz`) is numpy: nothing here imports torch, so the video predictors run on this
backend where torch is not installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from masklet.model.outputs import MASK_AS_OUTPUT_BIAS, MASK_AS_OUTPUT_SCALE, NO_OBJECT_LOGIT, FramePrediction, MaskProposals
from masklet.onnxrt.graphs import GraphRunner
from masklet.onnxrt.manifest import EMBEDDINGS_FILE, is_export_folder, read_manifest
from masklet.predict.arrays import NumpyArrays, resize, to_numpy


@dataclass
class PointerProposals(MaskProposals):
    """MaskProposals whose object pointer the decoder graph already made (tokens is None)."""

    obj_ptr: Any = None  # [B, C], for the mask `choose_mask` picks


def load_onnx_model(folder, config=None, device="cpu", dtype=None) -> OnnxSAM2Model:
    """`masklet.load_model(folder, backend="onnx")`: checks the arguments the backend cannot
    honour, then opens the export folder."""
    from masklet.checkpoint.errors import CheckpointError

    if config is not None:
        raise ValueError("backend='onnx' takes the config from the export's manifest.json; pass config=None")
    if str(device) != "cpu" or str(dtype).removeprefix("torch.") not in ("None", "float32"):
        raise ValueError(
            f"backend='onnx' runs on the cpu in float32, not {device} / {dtype}; use device='cpu' and the default dtype"
        )
    if not is_export_folder(folder):
        raise CheckpointError(
            f"{folder}: backend='onnx' loads a folder written by `masklet export --format onnx MODEL OUT/`; "
            f"export the model first, then load OUT/"
        )
    return OnnxSAM2Model(folder)


class OnnxSAM2Model:
    """An export folder as a model. Runs on the CPU in float32, on numpy arrays."""

    device = "cpu"
    dtype = "float32"  # numpy dtype name; a torch model's dtype is a torch.dtype
    arrays = NumpyArrays()  # what the tracking glue computes with

    def __init__(self, folder: str | Path, threads: int | None = None) -> None:
        self.folder = Path(folder)
        self.manifest = read_manifest(self.folder)
        self.config = self.manifest["config"]
        self.graphs = GraphRunner(self.folder, self.manifest, threads)
        self.image_size = self.config.image_size
        self.hidden_dim, self.mem_dim = self.config.d_model, self.config.mem_dim
        with np.load(self.folder / EMBEDDINGS_FILE) as stored:
            embeddings = {k: stored[k].astype(np.float32) for k in stored.files}
        self.no_mem_embed = embeddings["no_mem_embed"]  # [1, 1, C]
        self.no_obj_ptr = embeddings["no_obj_ptr"]  # [1, C]
        self.maskmem_tpos_enc = embeddings["maskmem_tpos_enc"]  # [T, 1, 1, mem]
        self._memory_pos = embeddings["memory_pos"]  # [1, mem, h, w]
        self.memory_attention = self._memory_attention
        self.training = False

    def __repr__(self) -> str:
        return f"OnnxSAM2Model({str(self.folder)!r}, config={self.config.name!r})"

    def eval(self) -> OnnxSAM2Model:
        return self

    # ------------------------------------------------------------------ image

    def forward_image(self, images) -> dict:
        """images [B, 3, S, S] -> the dict of `SAM2Model.forward_image` (positions of the
        lowest-resolution level only; the higher ones are None)."""
        out = self.graphs("image_encoder", images=images)
        fpn = [out["high_res_feats_0"], out["high_res_feats_1"], out["vision_feats"]]
        return {"backbone_fpn": fpn, "vision_pos_enc": [None, None, out["vision_pos"]], "vision_features": fpn[-1]}

    def image_embeddings(self, images) -> tuple[np.ndarray, list[np.ndarray]]:
        """As `SAM2Model.image_embeddings`: (image_embed [B, C, h, w] with `no_mem_embed`
        added, high_res_feats [[B, C/8, 4h, 4w], [B, C/4, 2h, 2w]])."""
        fpn = self.forward_image(images)["backbone_fpn"]
        return fpn[2] + self.no_mem_embed.reshape(1, -1, 1, 1), fpn[:2]

    # ------------------------------------------------------------------ masks

    def propose_masks(
        self, pix_feat, high_res_feats, point_coords=None, point_labels=None, mask_logits=None, multimask_output=False
    ) -> PointerProposals:
        """As `SAM2Model.propose_masks`, with each mode's object pointer attached."""
        batch = pix_feat.shape[0]
        if point_coords is None:
            point_coords = np.zeros((batch, 1, 2), dtype=np.float32)
            point_labels = -np.ones((batch, 1), dtype=np.int64)
        low = 4 * self.config.image_embedding_size
        has_mask = mask_logits is not None
        if has_mask:
            mask_logits = resize(to_numpy(mask_logits).astype(np.float32, copy=False), (low, low), antialias=True)
        else:
            mask_logits = np.zeros((batch, 1, low, low), dtype=np.float32)
        out = self.graphs(
            "prompt_decoder", image_embed=pix_feat, high_res_feats_0=high_res_feats[0], high_res_feats_1=high_res_feats[1],
            point_coords=point_coords, point_labels=to_numpy(point_labels).astype(np.int64), mask_input=mask_logits,
            has_mask_input=np.array([1.0 if has_mask else 0.0], dtype=np.float32),
        )
        mode = "multi" if multimask_output else "single"
        return PointerProposals(
            out[f"{mode}_masks"], out[f"{mode}_ious"], None, out["object_score_logits"], out[f"{mode}_obj_ptr"]
        )

    def choose_mask(self, proposals: PointerProposals) -> FramePrediction:
        """As `SAM2Model.choose_mask`: the best-IoU mask of each object (NO_OBJECT_LOGIT where
        absent), upsampled, with the pointer the graph made for it."""
        visible = proposals.object_score_logits > 0  # [B, 1]
        masks = np.where(visible[:, :, None, None], proposals.masks, np.float32(NO_OBJECT_LOGIT))
        if masks.shape[1] > 1:
            rows = np.arange(masks.shape[0])
            masks = masks[rows, proposals.ious.argmax(axis=-1)][:, None]
        high_res = resize(masks, (self.image_size, self.image_size))
        return FramePrediction(masks, high_res, proposals.obj_ptr, proposals.object_score_logits)

    def prediction_from_mask(self, pix_feat, high_res_feats, masks) -> FramePrediction:
        """As `SAM2Model.prediction_from_mask`: binary masks [B, 1, S, S] taken as the answer."""
        masks = to_numpy(masks).astype(np.float32, copy=False)
        high_res = masks * MASK_AS_OUTPUT_SCALE + MASK_AS_OUTPUT_BIAS
        low_res = resize(high_res, (high_res.shape[-2] // 4, high_res.shape[-1] // 4), antialias=True)
        downsampled = self.graphs("mask_prompt", masks=masks)["mask_input"]
        obj_ptr = self.choose_mask(self.propose_masks(pix_feat, high_res_feats, mask_logits=downsampled)).obj_ptr
        visible = (masks.reshape(masks.shape[0], -1) > 0).any(axis=1, keepdims=True).astype(np.float32)  # [B, 1]
        object_score_logits = visible * MASK_AS_OUTPUT_SCALE + MASK_AS_OUTPUT_BIAS
        obj_ptr = visible * obj_ptr + (1 - visible) * self.no_obj_ptr
        return FramePrediction(low_res, high_res, obj_ptr, object_score_logits)

    # ------------------------------------------------------------------ memory

    def encode_memory(self, vision_feats, high_res_masks, object_score_logits, binarize: bool) -> np.ndarray:
        """vision_feats [1 or B, C, h, w], masks [B, 1, S, S] -> memories [B, mem_dim, h, w]."""
        return self.graphs(
            "memory_encoder", vision_feats=vision_feats, masks=high_res_masks,
            object_score_logits=object_score_logits, binarize=np.array([bool(binarize)]),
        )["memory"]

    def _memory_attention(self, curr, memory, curr_pos, memory_pos, num_obj_ptr_tokens: int = 0) -> np.ndarray:
        """As `MemoryAttention.forward`: memory / memory_pos [B, M, mem_dim] whose last
        `num_obj_ptr_tokens` tokens are object pointers -> [B, hw, C]."""
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

    def pointer_position_encoding(self, offsets, max_offset: int) -> np.ndarray:
        """Temporal codes [P, mem_dim] of pointers `offsets` [P] frames away."""
        offsets = to_numpy(offsets).astype(np.float32, copy=False)
        return self.graphs("pointer_position", offsets=offsets / max_offset)["pointer_pos"]
