"""`OnnxSAM2Model`: the ONNX Runtime backend's `masklet.backend.TrackingModel`. The network's
steps are the exported graphs; the rules between them come from `masklet.backend.heads` as for
every backend, and the glue computes with numpy (`NumpyArrays`), so nothing here imports torch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from masklet.backend.numpy_arrays import NumpyArrays
from masklet.backend.outputs import MaskProposals
from masklet.errors import CheckpointError, OptionError
from masklet.onnxrt.graphs import GraphRunner
from masklet.onnxrt.manifest import EMBEDDINGS_FILE, is_export_folder, read_manifest


def load_onnx_model(folder, config=None, device="cpu", dtype=None, image_size=None) -> OnnxSAM2Model:
    """`masklet.load_model(folder, backend="onnx")`: checks the arguments the backend cannot
    honour, then opens the export folder."""
    check_onnx_options(config=config, device=device, dtype=dtype, image_size=image_size)
    if not is_export_folder(folder):
        raise CheckpointError(
            f"{folder}: backend='onnx' loads a folder written by `masklet export --format onnx MODEL OUT/`; "
            f"export the model first, then load OUT/"
        )
    return OnnxSAM2Model(folder)


def check_onnx_options(*, config=None, device="cpu", dtype=None, image_size=None) -> None:
    """The one check of what the ONNX backend cannot honour: a config or image size other than
    the export's, a device other than the CPU, a dtype other than float32 (None means the default)."""
    if config is not None or image_size is not None:
        raise OptionError(
            "backend='onnx' takes the config and image size from the export's manifest.json; pass neither "
            "(export the model at another size with load_model(..., image_size=N) first)"
        )
    if str(device) != "cpu" or str(dtype).removeprefix("torch.") not in ("None", "float32"):
        raise OptionError(
            f"backend='onnx' runs on the cpu in float32, not {device} / {dtype}; use the cpu and the default dtype"
        )


class OnnxSAM2Model:
    """An export folder as a model. Runs on the CPU in float32, on numpy arrays."""

    backend = "onnx"
    device = "cpu"
    arrays = NumpyArrays()

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

    def __repr__(self) -> str:
        return f"OnnxSAM2Model({str(self.folder)!r}, config={self.config.name!r})"

    def eval(self) -> OnnxSAM2Model:
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

    def memory_attention(
        self, curr, memory, curr_pos, memory_pos, num_obj_ptr_tokens: int = 0, memory_pool: int = 1,
        num_pooled_tokens: int = 0,
    ) -> np.ndarray:
        """memory / memory_pos [B, M, mem_dim] whose last `num_obj_ptr_tokens` tokens are object
        pointers -> [B, hw, C]. The exported graph attends to every token: no `memory_pool`."""
        if memory_pool != 1 and num_pooled_tokens:
            raise OptionError("the ONNX memory-attention graph attends to every memory token; pooled memory needs backend='torch'")
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
