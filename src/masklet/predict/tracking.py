"""SAM 2's per-frame tracking computations for a batch of objects.

Work that depends only on the frame (image encoder, position codes) runs once per frame.
Objects are then processed as one batch: objects whose memory banks hold the same number of
tokens go through memory attention together (their memories stay their own: batch rows
never mix), and all of them share one decoder call and one memory-encoder call. The result
for each object equals tracking it alone. Inference sessions and the training unroll both
drive this engine: what is trained is what is run.

Memory attention is compute-bound (about 0.5 TFLOP per object at 1024 px with a full bank).
On the CPU one object already keeps every core busy, and larger batches only add memory
traffic: 8 objects took 31.4 s and 1.87 GiB batched vs 29.1 s and 0.81 GiB one at a time
(sam2.1-tiny, 2 threads). So `attention_batch_size="auto"` batches on accelerators and runs
memory attention one object at a time on the CPU; decoder and memory encoder stay batched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from masklet.backend.heads import (
    choose_mask,
    pointer_positions,
    prediction_from_mask,
    propose_masks,
)
from masklet.backend.model import TrackingModel
from masklet.backend.outputs import FramePrediction, MaskProposals
from masklet.predict.memory_bank import (
    MEMORY_PRESETS,
    FrameOutput,
    MemoryOptions,
    MemorySelection,
    pointer_window,
)
from masklet.predict.postprocess import fill_holes
from masklet.predict.prompts import Clicks


@dataclass
class FrameFeatures:
    """Image-encoder output of one frame: one row shared by all objects, or one row per
    object (training batches, where objects come from different clips)."""

    vision_feats: Any  # [1 or B, C, h, w] lowest-resolution features (no memory)
    vision_pos: Any  # [1 or B, C, h, w] their position encoding
    high_res_feats: list  # [1 or B, C/8, 4h, 4w], [1 or B, C/4, 2h, 2w]

    @property
    def grid(self) -> tuple[int, int]:
        return tuple(self.vision_feats.shape[-2:])


class TrackingEngine:
    """Arguments (checked by `masklet.predict.session.TrackingOptions` where users set them):
      model: a model of any backend; the engine computes with its `arrays`.
      fill_hole_area: background holes of at most this many low-res pixels inside a mask
        are filled in the outputs (0 disables).
      storage_device: where outputs are kept (the model's device, or the CPU).
      attention_batch_size: most objects per memory-attention call; None for all of a group,
        "auto" for 1 on the CPU and all elsewhere.
      bfloat16_memory: keep memories in bfloat16, as the reference does at inference (half
        the bytes); else in the model's dtype (training).
      memory: how much memory a tracked frame attends to (the pooling of `MemoryOptions`;
        which memories are selected is `select_memory`'s business).
    """

    def __init__(
        self, model: TrackingModel, *, fill_hole_area: int = 0, storage_device=None,
        attention_batch_size: int | str | None = "auto", bfloat16_memory: bool = True,
        memory: MemoryOptions = MEMORY_PRESETS["exact"],
    ) -> None:
        self.arrays = model.arrays.with_storage(storage_device)
        if attention_batch_size == "auto":
            attention_batch_size = 1 if str(self.arrays.device).startswith("cpu") else None
        if isinstance(attention_batch_size, str):
            raise ValueError(f'attention_batch_size must be a positive int, None or "auto", got {attention_batch_size!r}')
        self.model = model
        self.attention_batch_size: int | None = attention_batch_size
        self.fill_hole_area = fill_hole_area
        self.bfloat16_memory = bfloat16_memory
        self.memory = memory
        self._memory_pos = None  # [mem_dim, h, w], cached

    def object_rows(self, tensor, rows: list[int]):
        """Rows `rows` of a per-object tensor [B, ...], or its one shared row repeated."""
        return self.arrays.repeat_rows(tensor, len(rows)) if tensor.shape[0] == 1 else tensor[rows]

    def frame_features(self, image) -> FrameFeatures:
        """image [3, S, S] float32 (normalised; numpy or torch) -> the frame's shared features."""
        out = self.model.forward_image(self.arrays.compute(self.arrays.asarray(image[None])))
        fpn, pos = out["backbone_fpn"], out["vision_pos_enc"]
        return FrameFeatures(vision_feats=fpn[-1], vision_pos=pos[-1], high_res_feats=list(fpn[:-1]))

    # ------------------------------------------------------------------ segmenting

    def predict(
        self, features: FrameFeatures, selections: Sequence[MemorySelection | None], num_frames: int | None,
        clicks: Clicks | None = None, prev_mask_logits=None,
    ) -> FramePrediction:
        """B objects' masks on a frame from their memories (and optional clicks [B, N] and
        earlier low-res logits [B, 1, S/4, S/4] on this frame)."""
        pix_feat = self.condition_on_memory(features, selections, num_frames)
        return choose_mask(self.model, self.propose(pix_feat, features, clicks, prev_mask_logits))

    def propose(
        self, pix_feat, features: FrameFeatures, clicks: Clicks | None, prev_mask_logits,
        multimask: bool | None = None,
    ) -> MaskProposals:
        """The decoder's masks for B objects on memory-conditioned features [B, C, h, w].
        Multimask output is used with at most one click, as SAM 2 does, unless `multimask`
        says otherwise."""
        coords = labels = None
        if clicks is not None:
            coords, labels = self.arrays.asarray(clicks.coords), self.arrays.asarray(clicks.labels, integer=True)
        if multimask is None:
            multimask = clicks is None or clicks.labels.shape[1] <= 1
        return propose_masks(
            self.model, pix_feat, features.high_res_feats, coords, labels, mask_logits=prev_mask_logits,
            multimask_output=multimask,
        )

    def prediction_from_masks(self, features: FrameFeatures, masks) -> FramePrediction:
        """Binary mask prompts [B, 1, S, S] taken as the objects' masks on this frame."""
        return prediction_from_mask(self.model, features.vision_feats, features.high_res_feats, masks)

    def outputs(self, prediction: FramePrediction, memories=None) -> list[FrameOutput]:
        """One FrameOutput per object (holes filled, kept on the storage device), with its
        memory [B, mem_dim, h, w] when given."""
        low_res = prediction.low_res_masks
        if self.fill_hole_area > 0:
            low_res = fill_holes(low_res, self.fill_hole_area, self.arrays)
        return [
            FrameOutput(
                pred_masks=self.arrays.store(low_res[i : i + 1]),
                obj_ptr=prediction.obj_ptr[i : i + 1],
                object_score_logits=prediction.object_score_logits[i : i + 1],
                maskmem_features=None if memories is None else memories[i : i + 1],
            )
            for i in range(low_res.shape[0])
        ]

    # ------------------------------------------------------------------ memory

    def memory_features(
        self, features: FrameFeatures, high_res_masks, object_score_logits, binarize: bool
    ):
        """Memories [B, mem_dim, h, w] (storage dtype and device) of B masks [B, 1, S, S]."""
        memory = self.model.encode_memory(
            features.vision_feats, self.arrays.asarray(high_res_masks), self.arrays.asarray(object_score_logits), binarize
        )
        return self.arrays.store(self.arrays.memory(memory, self.bfloat16_memory))

    def add_prompt_memories(self, features: FrameFeatures, outputs: list[FrameOutput]) -> None:
        """Fill in the memories of prompted outputs, encoded from their stored (hole-filled)
        masks, binarised: what the user saw is what is remembered."""
        ops = self.arrays
        low_res = ops.asarray(ops.cat([o.pred_masks for o in outputs]))
        size = self.model.image_size
        high_res = ops.resize(low_res, (size, size))
        scores = ops.cat([o.object_score_logits for o in outputs])
        memories = self.memory_features(features, high_res, scores, binarize=True)
        for out, memory in zip(outputs, memories):
            out.maskmem_features = memory[None]

    def condition_on_memory(
        self, features: FrameFeatures, selections: Sequence[MemorySelection | None], num_frames: int | None
    ):
        """Features of the frame for each object -> [B, C, h, w]. A None selection marks an
        object seen for the first time (no memory: `no_mem_embed` is added instead)."""
        feats = features.vision_feats
        ops = self.arrays
        rows_out: dict[int, Any] = {}  # row -> its features [1, C, h, w]
        first_look = [i for i, selection in enumerate(selections) if selection is None]
        if first_look:
            fresh = self.object_rows(feats, first_look) + self.model.no_mem_embed.reshape(1, -1, 1, 1)
            rows_out.update((row, fresh[j : j + 1]) for j, row in enumerate(first_look))
        groups: dict[tuple[int, ...], list[tuple[int, MemorySelection]]] = {}  # layout -> (row, selection)
        for i, selection in enumerate(selections):
            if selection is not None:
                groups.setdefault(selection.layout(), []).append((i, selection))
        if groups:
            # [1 or B, hw, ...]: computed once for a frame that all objects share
            queries = self.model.memory_queries(ops.tokens(feats), ops.tokens(features.vision_pos))
            step = self.attention_batch_size or len(selections)
            for members in groups.values():
                for start in range(0, len(members), step):
                    chunk = members[start : start + step]
                    rows = [i for i, _ in chunk]
                    attended = self._attend(queries, features.grid, rows, [s for _, s in chunk], num_frames)
                    rows_out.update((row, attended[j : j + 1]) for j, row in enumerate(rows))
        # Concatenated rather than written into one array: under bfloat16 autocast the two kinds
        # of rows can differ in dtype, and concatenation promotes them to a common one.
        return ops.cat([rows_out[i] for i in range(len(selections))])

    def _attend(
        self, queries, grid: tuple[int, int], rows: list[int], selections: list[MemorySelection], num_frames: int | None
    ):
        """Memory attention for the objects `rows` (banks of equal size) -> [B, C, h, w]."""
        banks = [self._memory_tokens(s, grid, num_frames) for s in selections]
        ops = self.arrays
        memory = ops.stack([b[0] for b in banks])  # [B, M, mem_dim]
        memory_pos = ops.stack([b[1] for b in banks])
        h, w = grid
        attended = self.model.attend_memory(
            self.object_rows(queries, rows), memory, memory_pos, num_obj_ptr_tokens=banks[0][2],
            memory_pool=self.memory.pool, num_pooled_tokens=self._pooled_tokens(selections[0], h * w),
        )  # [B, hw, C]
        return ops.feature_maps(attended, h, w)

    def _pooled_tokens(self, selection: MemorySelection, tokens_per_memory: int) -> int:
        """How many spatial memory tokens memory attention pools: those of the memories
        `MemoryOptions.pools`, which `select_memory` puts last (conditioning memories first)."""
        return tokens_per_memory * sum(1 for slot, _ in selection.spatial if self.memory.pools(slot))

    def _memory_tokens(self, selection: MemorySelection, grid, num_frames: int | None):
        """One object's memory bank as tokens [M, mem_dim], their position codes [M, mem_dim]
        and the number of trailing object-pointer tokens."""
        model, cfg, ops = self.model, self.model.config, self.arrays
        spatial_pos = ops.tokens(self._memory_position(grid)[None])[0]  # [hw, mem_dim]
        tokens, positions = [], []
        for slot, out in selection.spatial:
            tokens.append(ops.tokens(ops.compute(out.maskmem_features))[0])  # [hw, mem_dim]
            positions.append(spatial_pos + model.maskmem_tpos_enc[cfg.num_maskmem - slot - 1].reshape(1, -1))
        num_pointer_tokens = 0
        if selection.pointers:
            distances = ops.asarray([d for d, _ in selection.pointers], integer=True)  # [P]
            pointers = ops.cat([ops.compute(out.obj_ptr) for _, out in selection.pointers])  # [P, C]
            pointer_pos = pointer_positions(model, distances, pointer_window(num_frames, cfg))
            # Each C-wide pointer becomes C / mem_dim tokens that share its temporal code.
            split = model.hidden_dim // model.mem_dim
            tokens.append(pointers.reshape(-1, model.mem_dim))
            positions.append(ops.repeat_interleave(pointer_pos, split))
            num_pointer_tokens = len(selection.pointers) * split
        return ops.cat(tokens), ops.cat(positions), num_pointer_tokens

    def _memory_position(self, grid: tuple[int, int]):
        """[mem_dim, h, w] spatial code of every memory (cached)."""
        if self._memory_pos is None or tuple(self._memory_pos.shape[-2:]) != tuple(grid):
            self._memory_pos = self.model.memory_position_encoding(*grid)[0]
        return self._memory_pos
