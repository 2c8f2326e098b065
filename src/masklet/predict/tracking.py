"""One tracking step for many objects at once.

Work that depends only on the frame (image encoder, feature flattening, position codes) runs
once per frame. Objects are then processed as one batch: objects whose memory banks hold the
same number of tokens go through memory attention together (their memories stay their own:
batch rows never mix), and all of them share one decoder call and one memory-encoder call.
The result for each object equals tracking it alone.

Memory attention is compute-bound (about 0.5 TFLOP per object at 1024 px with a full bank).
On the CPU one object already keeps every core busy, and larger batches only add memory
traffic: 8 objects took 31.4 s and 1.87 GiB batched vs 29.1 s and 0.81 GiB one at a time
(sam2.1-tiny, 2 threads). So `attention_batch_size="auto"` batches on accelerators and runs
memory attention one object at a time on the CPU; decoder and memory encoder stay batched.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from masklet.model.sam2 import HeadOutput, SAM2Model
from masklet.predict.memory_bank import FrameOutput, MemorySelection, pointer_window
from masklet.predict.postprocess import fill_holes


@dataclass
class FrameFeatures:
    """Image-encoder output of one frame, shared by all objects on it."""

    vision_feats: torch.Tensor  # [1, C, h, w] lowest-resolution features (no memory)
    vision_pos: torch.Tensor  # [1, C, h, w] their position encoding
    high_res_feats: list[torch.Tensor]  # [1, C/8, 4h, 4w], [1, C/4, 2h, 2w]

    @property
    def grid(self) -> tuple[int, int]:
        return tuple(self.vision_feats.shape[-2:])


# Memories are stored in bfloat16, as the reference does (half the bytes of float32).
MEMORY_DTYPE = torch.bfloat16


class TrackingEngine:
    """Runs SAM 2's per-frame tracking computations for batches of objects.

    Arguments:
      model: the SAM2Model.
      fill_hole_area: background holes of at most this many low-res pixels inside a mask
        are filled in the stored and returned masks (0 disables).
      storage_device: where per-frame outputs are kept (the model's device, or the CPU).
      attention_batch_size: most objects per memory-attention call; None for all of a group,
        "auto" for 1 on the CPU and all elsewhere.
    """

    def __init__(
        self, model: SAM2Model, fill_hole_area: int = 0, storage_device=None, attention_batch_size: int | str | None = "auto"
    ) -> None:
        if attention_batch_size == "auto":
            attention_batch_size = 1 if model.device.type == "cpu" else None
        if attention_batch_size is not None and (not isinstance(attention_batch_size, int) or attention_batch_size < 1):
            raise ValueError(f'attention_batch_size must be a positive int, None or "auto", got {attention_batch_size!r}')
        self.model = model
        self.attention_batch_size = attention_batch_size
        self.fill_hole_area = fill_hole_area
        self.storage_device = torch.device(storage_device) if storage_device is not None else model.device
        self._memory_pos: torch.Tensor | None = None

    @property
    def config(self):
        return self.model.config

    # ------------------------------------------------------------------ per frame

    @torch.inference_mode()
    def frame_features(self, image: torch.Tensor) -> FrameFeatures:
        """image [3, S, S] (normalised) -> the frame's shared features."""
        model = self.model
        out = model.forward_image(image[None].to(model.device, model.dtype))
        fpn, pos = out["backbone_fpn"], out["vision_pos_enc"]
        return FrameFeatures(vision_feats=fpn[-1], vision_pos=pos[-1], high_res_feats=list(fpn[:-1]))

    # ------------------------------------------------------------------ memory conditioning

    def condition_on_memory(
        self, features: FrameFeatures, selections: list[MemorySelection | None], num_frames: int | None
    ) -> torch.Tensor:
        """Features of the frame for each object -> [B, C, h, w]. A None selection marks an
        object seen for the first time (no memory: `no_mem_embed` is added instead).
        `features` hold one frame shared by all objects, or one row per object (training,
        where objects come from different clips)."""
        model = self.model
        batch = len(selections)
        out = features.vision_feats.new_empty(batch, *features.vision_feats.shape[1:])
        groups: dict[tuple[int, int], list[int]] = {}
        for i, selection in enumerate(selections):
            if selection is None:
                row = i if features.vision_feats.shape[0] == batch else 0
                out[i] = features.vision_feats[row] + model.no_mem_embed.view(-1, 1, 1)
            else:
                groups.setdefault(selection.layout(), []).append(i)
        step = self.attention_batch_size or batch
        for rows in groups.values():
            for start in range(0, len(rows), step):
                chunk = rows[start : start + step]
                out[chunk] = self._attend(features, chunk, [selections[i] for i in chunk], num_frames)
        return out

    def _attend(
        self, features: FrameFeatures, rows: list[int], selections: list[MemorySelection], num_frames
    ) -> torch.Tensor:
        """Memory attention for the objects `rows` (banks of equal size) -> [B, C, h, w]."""
        model = self.model
        banks = [self._memory_tokens(s, features.grid, num_frames) for s in selections]
        memory = torch.stack([b[0] for b in banks])  # [B, M, mem_dim]
        memory_pos = torch.stack([b[1] for b in banks])
        num_pointer_tokens = banks[0][2]
        batch = len(selections)
        feats, pos = features.vision_feats, features.vision_pos
        if feats.shape[0] > 1:  # one row per object
            feats, pos = feats[rows], pos[rows] if pos.shape[0] > 1 else pos
        c, h, w = feats.shape[1:]
        curr = feats.flatten(2).transpose(1, 2).expand(batch, -1, -1)  # [B, hw, C]
        curr_pos = pos.flatten(2).transpose(1, 2).expand(batch, -1, -1)
        attended = model.memory_attention(
            curr=curr, memory=memory, curr_pos=curr_pos, memory_pos=memory_pos,
            num_obj_ptr_tokens=num_pointer_tokens,
        )
        return attended.transpose(1, 2).reshape(batch, c, h, w)

    def _memory_tokens(self, selection: MemorySelection, grid, num_frames):
        """One object's memory bank as tokens [M, mem_dim], their position codes [M, mem_dim]
        and the number of trailing object-pointer tokens."""
        model, cfg = self.model, self.config
        device, dtype = model.device, model.dtype
        spatial_pos = self.memory_position(grid).flatten(1).t()  # [hw, mem_dim]
        tokens, positions = [], []
        for slot, out in selection.spatial:
            tokens.append(out.maskmem_features[0].to(device, dtype).flatten(1).t())  # [hw, mem_dim]
            positions.append(spatial_pos + model.maskmem_tpos_enc[cfg.num_maskmem - slot - 1].view(1, -1))
        num_pointer_tokens = 0
        if selection.pointers:
            distances = torch.tensor([d for d, _ in selection.pointers], device=device)
            pointers = torch.cat([out.obj_ptr.to(device, dtype) for _, out in selection.pointers])  # [P, C]
            pointer_pos = model.pointer_position_encoding(distances, pointer_window(num_frames, cfg) - 1)
            # Each C-wide pointer becomes C / mem_dim tokens that share its temporal code.
            split = model.hidden_dim // model.mem_dim
            tokens.append(pointers.reshape(-1, model.mem_dim))
            positions.append(pointer_pos.repeat_interleave(split, dim=0))
            num_pointer_tokens = len(selection.pointers) * split
        return torch.cat(tokens), torch.cat(positions), num_pointer_tokens

    def memory_position(self, grid: tuple[int, int]) -> torch.Tensor:
        """[mem_dim, h, w] spatial code of every memory (cached)."""
        if self._memory_pos is None or tuple(self._memory_pos.shape[-2:]) != tuple(grid):
            self._memory_pos = self.model.memory_position_encoding(*grid)[0]
        return self._memory_pos

    # ------------------------------------------------------------------ heads and memory

    @torch.inference_mode()
    def track(
        self,
        features: FrameFeatures,
        selections: list[MemorySelection | None],
        num_frames: int | None,
        point_coords: torch.Tensor | None = None,
        point_labels: torch.Tensor | None = None,
        prev_mask_logits: torch.Tensor | None = None,
        encode_memory: bool = True,
    ) -> list[FrameOutput]:
        """Segment B objects on a frame from their memories (and optional clicks).

        point_coords [B, N, 2] model pixels with labels [B, N]; prev_mask_logits [B, 1, S/4, S/4]
        the object's earlier logits on this frame (fed with correction clicks). Multimask
        output is used with at most one click, as SAM 2 does. With `encode_memory`, each
        output's memory is encoded (from its un-filled mask, sigmoid-scaled).
        """
        pix_feat = self.condition_on_memory(features, selections, num_frames)
        num_points = 0 if point_labels is None else point_labels.shape[1]
        heads = self.model.decode_masks(
            pix_feat, features.high_res_feats, point_coords, point_labels,
            mask_logits=prev_mask_logits, multimask_output=num_points <= 1,
        )
        memories = self.encode(features, heads.high_res_masks, heads.object_score_logits, binarize=False) if encode_memory else None
        return self._to_outputs(heads, memories)

    @torch.inference_mode()
    def use_masks(self, features: FrameFeatures, masks: torch.Tensor) -> list[FrameOutput]:
        """Binary mask prompts [B, 1, S, S] as the objects' outputs on this frame."""
        heads = self.model.mask_as_output(features.vision_feats, features.high_res_feats, masks)
        return self._to_outputs(heads, None)

    @torch.inference_mode()
    def encode(
        self, features: FrameFeatures, high_res_masks: torch.Tensor, object_score_logits: torch.Tensor, binarize: bool
    ) -> torch.Tensor:
        """Memories [B, mem_dim, h, w] (storage dtype and device) of B masks [B, 1, S, S]."""
        memory = self.model.encode_memory(
            features.vision_feats, high_res_masks.to(self.model.device), object_score_logits.to(self.model.device),
            binarize,
        )
        return memory.to(MEMORY_DTYPE).to(self.storage_device)

    @torch.inference_mode()
    def encode_prompted(self, features: FrameFeatures, outputs: list[FrameOutput]) -> None:
        """Encode the memories of prompted outputs from their stored (filled) low-res masks,
        binarised: what the user saw is what is remembered."""
        low_res = torch.cat([o.pred_masks for o in outputs]).to(self.model.device)
        size = self.model.image_size
        high_res = torch.nn.functional.interpolate(low_res, (size, size), mode="bilinear", align_corners=False)
        scores = torch.cat([o.object_score_logits for o in outputs])
        memories = self.encode(features, high_res, scores, binarize=True)
        for out, memory in zip(outputs, memories):
            out.maskmem_features = memory[None]

    def _to_outputs(self, heads: HeadOutput, memories: torch.Tensor | None) -> list[FrameOutput]:
        low_res = heads.low_res_masks
        if self.fill_hole_area > 0:
            low_res = fill_holes(low_res, self.fill_hole_area)
        store = self.storage_device
        return [
            FrameOutput(
                pred_masks=low_res[i : i + 1].to(store),
                obj_ptr=heads.obj_ptr[i : i + 1],
                object_score_logits=heads.object_score_logits[i : i + 1],
                maskmem_features=None if memories is None else memories[i : i + 1],
            )
            for i in range(low_res.shape[0])
        ]
