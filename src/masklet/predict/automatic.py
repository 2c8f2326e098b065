"""Automatic ("segment everything") mask generation.

`MaskGenerator` mirrors the reference `SAM2AutomaticMaskGenerator`: same constructor
arguments and defaults, same `generate` records. It prompts the model with a grid of single
foreground points, decoding `points_per_batch` points per mask-decoder call, keeps the masks
whose predicted IoU and stability are high enough, removes duplicates by box non-maximum
suppression, and optionally repeats this on overlapping crops of the image.

The quality filters default to the model's own (`model_thresholds`): the reference's values for
official checkpoints, measured ones for Masklet's bundled models, which score their masks lower.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from masklet.backend.heads import image_embeddings, stability_score
from masklet.backend.model import TrackingModel, require_model
from masklet.io.image import as_rgb
from masklet.io.rle import rle_area, rle_decode, rle_encode
from masklet.predict.automatic_ops import (
    batched_nms,
    box_area,
    boxes_near_crop_edge,
    crop_boxes,
    layer_point_grids,
    masks_to_boxes,
    masks_to_uncompressed_rle,
    remove_small_regions,
    xyxy_to_xywh,
)
from masklet.predict.postprocess import fill_holes_and_remove_sprinkles
from masklet.predict.prompts import MASK_LOGIT_LIMIT
from masklet.predict.resize import image_input, upscale_logits

OUTPUT_MODES = ("binary_mask", "uncompressed_rle", "coco_rle")


@dataclass(frozen=True)
class MaskThresholds:
    """Which generated masks are kept: predicted IoU > pred_iou_thresh and stability score (at
    logit offset stability_score_offset) >= stability_score_thresh; 0 turns a filter off."""

    pred_iou_thresh: float = 0.8
    stability_score_thresh: float = 0.95
    stability_score_offset: float = 1.0


# The reference's defaults fit official checkpoints. The bundled models' logits stay near 0 and
# their predicted IoUs low, so those keep nothing; theirs were chosen by
# benchmarks/automatic_thresholds.py (results in benchmarks/results/automatic-thresholds/).
MODEL_THRESHOLDS: dict[str, MaskThresholds] = {
    "masklet-nano": MaskThresholds(pred_iou_thresh=0.15, stability_score_thresh=0.2, stability_score_offset=0.25),
    "masklet-lite": MaskThresholds(pred_iou_thresh=0.1, stability_score_thresh=0.1, stability_score_offset=1.0),
}


def model_thresholds(model) -> MaskThresholds:
    """The automatic-mask thresholds of `model` (by its config's name), else the reference's."""
    config = getattr(model, "config", None)
    return MODEL_THRESHOLDS.get(getattr(config, "name", ""), MaskThresholds())


# Holes and specks (min_mask_region_area) are found on the low-res logits cut at this value,
# whatever mask_threshold is, as the reference does.
_CLEANUP_THRESHOLD = 0.0


@dataclass
class _CropEmbedding:
    """Image features of one crop, ready for the mask decoder."""

    image_embed: torch.Tensor  # [1, 256, S/16, S/16]
    high_res_feats: list[torch.Tensor]  # [1, 32, S/4, S/4], [1, 64, S/8, S/8]
    crop_hw: tuple[int, int]


@dataclass
class _Candidates:
    """Masks found so far, in the frame of the whole image; N masks, one row each."""

    rles: list[dict]  # uncompressed RLE of each [H, W] mask
    boxes: torch.Tensor  # [N, 4] int64, inclusive XYXY around the mask
    iou_preds: torch.Tensor  # [N] float32
    points: torch.Tensor  # [N, 2] float32, the (x, y) prompt in image pixels
    stability_score: torch.Tensor  # [N] float32
    crop_boxes: torch.Tensor  # [N, 4] int64, XYXY of the crop the mask came from

    def __len__(self) -> int:
        return len(self.rles)

    def select(self, index: torch.Tensor) -> _Candidates:
        """The candidates at integer positions `index` [K], in that order."""
        positions = index.tolist()
        return _Candidates(
            rles=[self.rles[i] for i in positions],
            boxes=self.boxes[index],
            iou_preds=self.iou_preds[index],
            points=self.points[index],
            stability_score=self.stability_score[index],
            crop_boxes=self.crop_boxes[index],
        )

    @staticmethod
    def concat(parts: list[_Candidates]) -> _Candidates:
        return _Candidates(
            rles=[rle for part in parts for rle in part.rles],
            boxes=torch.cat([p.boxes for p in parts]),
            iou_preds=torch.cat([p.iou_preds for p in parts]),
            points=torch.cat([p.points for p in parts]),
            stability_score=torch.cat([p.stability_score for p in parts]),
            crop_boxes=torch.cat([p.crop_boxes for p in parts]),
        )


class MaskGenerator:
    """Segments everything in an image by prompting the model with a grid of points.

    Arguments (those of the reference `SAM2AutomaticMaskGenerator`):
      model: a torch-backend model (see `masklet.load_model`).
      points_per_side: the grid has points_per_side**2 points; None if point_grids is given.
      points_per_batch: points decoded together in one mask-decoder call.
      pred_iou_thresh: keep masks whose predicted IoU is above this (0 disables).
      stability_score_thresh: keep masks whose stability score is at least this (0 disables);
        when on, empty masks are dropped too, as the reference's generator drops them.
      stability_score_offset: the logit shift used by the stability score.
        These three default (None) to the model's own, `model_thresholds(model)`: 0.8, 0.95
        and 1.0 (the reference's defaults) unless the model is in MODEL_THRESHOLDS.
      mask_threshold: logit threshold for binary masks.
      box_nms_thresh: box IoU above which the lower-scoring of two masks of a crop is dropped.
      crop_n_layers: also segment crop layers 1..crop_n_layers; layer i tiles the image
        2**i x 2**i.
      crop_nms_thresh: box IoU for removing duplicates between crops (smaller crops win).
      crop_overlap_ratio: overlap of neighbouring layer-1 crops, as a fraction of the short
        image side; deeper layers overlap proportionally less.
      crop_n_points_downscale_factor: layer i uses points_per_side / factor**i points per side.
      point_grids: explicit grids, one [K, 2] array of (x, y) in [0, 1] per crop layer.
      min_mask_region_area: if > 0, holes and islands of at most this many pixels of the
        low-res masks (S/4 x S/4, 256 x 256 for 1024-pixel models) are removed from every
        predicted mask before it is scaled up, as the reference does.
      output_mode: "binary_mask", "uncompressed_rle" or "coco_rle".
      use_m2m: refine every mask once more, feeding it back as a mask prompt.
      multimask_output: three masks per point instead of one.
    """

    def __init__(
        self,
        model: TrackingModel,
        points_per_side: int | None = 32,
        points_per_batch: int = 64,
        pred_iou_thresh: float | None = None,
        stability_score_thresh: float | None = None,
        stability_score_offset: float | None = None,
        mask_threshold: float = 0.0,
        box_nms_thresh: float = 0.7,
        crop_n_layers: int = 0,
        crop_nms_thresh: float = 0.7,
        crop_overlap_ratio: float = 512 / 1500,
        crop_n_points_downscale_factor: int = 1,
        point_grids: list[np.ndarray] | None = None,
        min_mask_region_area: int = 0,
        output_mode: str = "binary_mask",
        use_m2m: bool = False,
        multimask_output: bool = True,
    ) -> None:
        require_model(model, backends=("torch",))
        if output_mode not in OUTPUT_MODES:
            raise ValueError(f"output_mode must be one of {', '.join(OUTPUT_MODES)}; got {output_mode!r}")
        _require_int(crop_n_layers, "crop_n_layers", minimum=0)
        _require_int(points_per_batch, "points_per_batch", minimum=1)
        _require_int(crop_n_points_downscale_factor, "crop_n_points_downscale_factor", minimum=1)
        if min_mask_region_area < 0:
            raise ValueError(f"min_mask_region_area must be >= 0, got {min_mask_region_area}")
        self.model = model
        self.point_grids = _point_grids(
            points_per_side, point_grids, crop_n_layers, crop_n_points_downscale_factor
        )
        self.points_per_batch = points_per_batch
        own = model_thresholds(model)
        self.pred_iou_thresh = own.pred_iou_thresh if pred_iou_thresh is None else pred_iou_thresh
        self.stability_score_thresh = own.stability_score_thresh if stability_score_thresh is None else stability_score_thresh
        self.stability_score_offset = own.stability_score_offset if stability_score_offset is None else stability_score_offset
        self.mask_threshold = mask_threshold
        self.box_nms_thresh = box_nms_thresh
        self.crop_n_layers = crop_n_layers
        self.crop_nms_thresh = crop_nms_thresh
        self.crop_overlap_ratio = crop_overlap_ratio
        self.crop_n_points_downscale_factor = crop_n_points_downscale_factor
        self.min_mask_region_area = min_mask_region_area
        self.output_mode = output_mode
        self.use_m2m = use_m2m
        self.multimask_output = multimask_output

    @classmethod
    def from_pretrained(cls, name_or_path: str, device="cpu", dtype=torch.float32, **kwargs) -> MaskGenerator:
        """A generator on `masklet.load_model(name_or_path, device=..., dtype=...)`; other
        keyword arguments go to the constructor."""
        from masklet.checkpoint import load_model

        return cls(load_model(name_or_path, device=device, dtype=dtype), **kwargs)

    # ------------------------------------------------------------------ public API

    @torch.inference_mode()
    def generate(self, image) -> list[dict]:
        """Masks of everything in an RGB image (numpy [H, W, 3] uint8, or a PIL image).

        Returns one record per mask:
          segmentation: bool [H, W] array, or an RLE dict (see output_mode)
          area: foreground pixels
          bbox: [x, y, w, h] around the mask (inclusive pixel indices, so w = x_max - x_min)
          predicted_iou, stability_score: the mask's quality scores
          point_coords: [[x, y]], the prompt that produced the mask, in image pixels
          crop_box: [x, y, w, h] of the crop the mask was found in
        """
        image = _as_rgb_array(image)
        candidates = self._generate_masks(image)
        return [self._record(candidates, i) for i in range(len(candidates))]

    @staticmethod
    def postprocess_small_regions(records: list[dict], min_area: int, nms_thresh: float) -> list[dict]:
        """Full-resolution clean-up of `generate` records (any output mode): fill holes and
        remove islands smaller than `min_area` pixels, then drop masks whose new box overlaps
        an unchanged or higher-ranked mask's box by IoU > nms_thresh. Changed masks get new
        segmentation, area and bbox. Like the reference's, `generate` does not call this
        (min_mask_region_area cleans the low-res masks instead); apply it to its output."""
        if not records:
            return []
        cleaned, changed = [], []
        for record in records:
            mask = _segmentation_to_mask(record["segmentation"])
            mask, holes_changed = remove_small_regions(mask, min_area, mode="holes")
            mask, islands_changed = remove_small_regions(mask, min_area, mode="islands")
            cleaned.append(torch.from_numpy(mask))
            changed.append(holes_changed or islands_changed)
        masks = torch.stack(cleaned)  # [N, H, W]
        boxes = masks_to_boxes(masks)
        unchanged_first = torch.tensor([0.0 if c else 1.0 for c in changed])
        keep = batched_nms(boxes, unchanged_first, torch.zeros(len(records)), nms_thresh)
        out = []
        for i in keep.tolist():
            record = dict(records[i])
            if changed[i]:
                record["segmentation"] = _mask_to_segmentation(masks[i].numpy(), record["segmentation"])
                record["area"] = int(masks[i].sum())
                record["bbox"] = xyxy_to_xywh(boxes[i])
            out.append(record)
        return out

    # ------------------------------------------------------------------ crops

    def _generate_masks(self, image: np.ndarray) -> _Candidates:
        image_hw = image.shape[:2]
        boxes, layers = crop_boxes(image_hw, self.crop_n_layers, self.crop_overlap_ratio)
        found = _Candidates.concat(
            [self._process_crop(image, box, layer) for box, layer in zip(boxes, layers)]
        )
        if len(boxes) > 1:
            smaller_crop_first = 1.0 / box_area(found.crop_boxes)
            keep = batched_nms(
                found.boxes, smaller_crop_first, torch.zeros(len(found)), self.crop_nms_thresh
            )
            found = found.select(keep)
        return found

    def _process_crop(self, image: np.ndarray, crop_box: list[int], layer: int) -> _Candidates:
        x0, y0, x1, y1 = crop_box
        embedding = self._embed(image[y0:y1, x0:x1])
        crop_h, crop_w = embedding.crop_hw
        grid = self.point_grids[layer] * np.array([[crop_w, crop_h]])
        points = torch.as_tensor(grid, dtype=torch.float32)  # [P, 2] crop pixels
        found = _Candidates.concat(
            [
                self._process_batch(embedding, batch, crop_box, image.shape[:2])
                for batch in points.split(self.points_per_batch)
            ]
        )
        keep = batched_nms(found.boxes, found.iou_preds, torch.zeros(len(found)), self.box_nms_thresh)
        return found.select(keep)

    def _embed(self, crop: np.ndarray) -> _CropEmbedding:
        ops = self.model.arrays
        image_embed, high_res_feats = image_embeddings(self.model, ops.compute(image_input([crop], self.model.image_size, ops)))
        return _CropEmbedding(image_embed, high_res_feats, tuple(crop.shape[:2]))

    # ------------------------------------------------------------------ one batch of points

    def _process_batch(
        self,
        embedding: _CropEmbedding,
        points: torch.Tensor,
        crop_box: list[int],
        image_hw: tuple[int, int],
    ) -> _Candidates:
        """Masks for points [B, 2] (crop pixels) that pass the quality filters and do not end
        at an inner crop edge. Masks are made on the model's device, the records on the CPU."""
        device = self.model.device
        crop_h, crop_w = embedding.crop_hw
        points = points.to(device)
        # Crop pixels -> [0, 1] -> the model's S x S input frame.
        crop_size = torch.tensor([crop_w, crop_h], dtype=torch.float32, device=device)
        model_points = points / crop_size * self.model.image_size
        low_res, iou_preds = self._decode(embedding, model_points, None, self.multimask_output)
        masks_per_point = low_res.shape[1]
        low_res = low_res.flatten(0, 1)  # [B * M, h, w]
        iou_preds = iou_preds.flatten(0, 1)
        points = points.repeat_interleave(masks_per_point, dim=0)
        if self.use_m2m:
            model_points = model_points.repeat_interleave(masks_per_point, dim=0)
            low_res, iou_preds = self._refine_with_m2m(embedding, model_points, low_res)

        keep = torch.ones_like(iou_preds, dtype=torch.bool)
        if self.pred_iou_thresh > 0.0:
            keep = iou_preds > self.pred_iou_thresh
        low_res, iou_preds, points = low_res[keep], iou_preds[keep], points[keep]
        logits = self._upscale(low_res, embedding.crop_hw)  # [K, crop_h, crop_w]
        stability = stability_score(logits, self.mask_threshold, self.stability_score_offset)
        if self.stability_score_thresh > 0.0:
            # An empty mask (no logit above mask_threshold - offset) scores 1, as in the decoder;
            # the reference's generator scores it 0/0 = NaN, which fails the threshold: drop it.
            loose = logits > self.mask_threshold - self.stability_score_offset  # [K, crop_h, crop_w]
            keep = (stability >= self.stability_score_thresh) & loose.flatten(1).any(1)
            logits, iou_preds, points, stability = logits[keep], iou_preds[keep], points[keep], stability[keep]

        crop_masks = logits > self.mask_threshold
        x0, y0, _, _ = crop_box
        boxes = masks_to_boxes(crop_masks) + torch.tensor([x0, y0, x0, y0], device=device)
        image_h, image_w = image_hw
        keep = ~boxes_near_crop_edge(boxes, crop_box, [0, 0, image_w, image_h])
        crop_masks = crop_masks[keep]
        image_masks = torch.zeros(crop_masks.shape[0], image_h, image_w, dtype=torch.bool, device=device)
        image_masks[:, y0 : y0 + crop_h, x0 : x0 + crop_w] = crop_masks
        return _Candidates(
            rles=masks_to_uncompressed_rle(image_masks),
            boxes=boxes[keep].cpu(),
            iou_preds=iou_preds[keep].cpu(),
            points=(points[keep] + torch.tensor([x0, y0], device=device)).cpu(),
            stability_score=stability[keep].cpu(),
            crop_boxes=torch.tensor([crop_box], dtype=torch.int64).expand(int(keep.sum()), 4),
        )

    def _refine_with_m2m(
        self, embedding: _CropEmbedding, model_points: torch.Tensor, low_res: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Decode each mask again with its own low-res logits [N, h, w] as mask prompt, in
        chunks of points_per_batch. Returns (low-res logits [N, h, w], IoU [N])."""
        mask_prompts = low_res.clamp(-MASK_LOGIT_LIMIT, MASK_LOGIT_LIMIT)[:, None]  # [N, 1, h, w]
        refined = [
            self._decode(embedding, points, masks, multimask_output=False)
            for points, masks in zip(
                model_points.split(self.points_per_batch), mask_prompts.split(self.points_per_batch)
            )
        ]
        return torch.cat([r[0] for r in refined])[:, 0], torch.cat([r[1] for r in refined])[:, 0]

    def _decode(
        self,
        embedding: _CropEmbedding,
        model_points: torch.Tensor,
        mask_input: torch.Tensor | None,
        multimask_output: bool,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One mask-decoder call for B single foreground points [B, 2] (model frame), with
        optional mask prompts [B, 1, h, w]. Returns (low-res logits [B, M, h, w], IoU [B, M])."""
        model, ops = self.model, self.model.arrays
        coords = ops.compute(model_points[:, None, :])  # [B, 1, 2]
        labels = torch.ones(coords.shape[:2], dtype=torch.int32, device=model.device)
        masks = None if mask_input is None else ops.compute(mask_input)
        proposals = model.decode_prompts(
            embedding.image_embed, embedding.high_res_feats, coords, labels, masks, multimask_output
        )
        return proposals.masks, proposals.ious

    def _upscale(self, low_res: torch.Tensor, crop_hw: tuple[int, int]) -> torch.Tensor:
        """Low-res logits [K, h, w] -> logits [K, H, W] of the crop, after removing small
        holes and islands if min_mask_region_area > 0."""
        area = self.min_mask_region_area
        ops = self.model.arrays
        cleaned = fill_holes_and_remove_sprinkles(low_res, _CLEANUP_THRESHOLD, area, area, ops)
        return upscale_logits(cleaned[:, None], crop_hw, ops)[:, 0]

    # ------------------------------------------------------------------ output

    def _record(self, candidates: _Candidates, i: int) -> dict:
        rle = candidates.rles[i]
        segmentation: Any
        if self.output_mode == "binary_mask":
            segmentation = rle_decode(rle)
        elif self.output_mode == "coco_rle":
            segmentation = rle_encode(rle_decode(rle))
        else:
            segmentation = rle
        return {
            "segmentation": segmentation,
            "area": rle_area(rle),
            "bbox": xyxy_to_xywh(candidates.boxes[i]),
            "predicted_iou": candidates.iou_preds[i].item(),
            "point_coords": [candidates.points[i].tolist()],
            "stability_score": candidates.stability_score[i].item(),
            "crop_box": xyxy_to_xywh(candidates.crop_boxes[i]),
        }


SAM2AutomaticMaskGenerator = MaskGenerator


def _require_int(value, name: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _point_grids(points_per_side, point_grids, crop_n_layers: int, downscale_factor: int) -> list[np.ndarray]:
    """The prompt grid of each crop layer, from points_per_side or explicit point_grids."""
    if (points_per_side is None) == (point_grids is None):
        raise ValueError(
            "give exactly one of points_per_side (a regular grid) or point_grids (explicit "
            "grids); pass points_per_side=None when giving point_grids"
        )
    if points_per_side is not None:
        _require_int(points_per_side, "points_per_side", minimum=1)
        smallest = int(points_per_side / downscale_factor**crop_n_layers)
        if smallest < 1:
            raise ValueError(
                f"points_per_side={points_per_side} downscaled by {downscale_factor}**{crop_n_layers} "
                f"leaves no points on crop layer {crop_n_layers}; lower crop_n_points_downscale_factor "
                "or crop_n_layers"
            )
        return layer_point_grids(points_per_side, crop_n_layers, downscale_factor)
    grids = [np.asarray(g, dtype=np.float64) for g in point_grids]
    if len(grids) != crop_n_layers + 1:
        raise ValueError(
            f"point_grids needs one grid per crop layer: {crop_n_layers + 1} for "
            f"crop_n_layers={crop_n_layers}, got {len(grids)}"
        )
    for layer, grid in enumerate(grids):
        if grid.ndim != 2 or grid.shape[1] != 2 or grid.shape[0] == 0:
            raise ValueError(f"point_grids[{layer}] must have shape [K, 2] (x, y), got {grid.shape}")
        if not np.isfinite(grid).all() or grid.min() < 0 or grid.max() > 1:
            raise ValueError(f"point_grids[{layer}] must hold coordinates normalised to [0, 1]")
    return grids


def _as_rgb_array(image) -> np.ndarray:
    """A PIL image (any mode) or an RGB array [H, W, 3] as `masklet.io.image.as_rgb` returns it.
    Unlike the image predictor, the generator takes arrays only with three channels, as the
    reference's does (it crops them as [y0:y1, x0:x1, :])."""
    if isinstance(image, np.ndarray) and (image.ndim != 3 or image.shape[2] != 3):
        raise ValueError(f"expected an RGB image of shape [H, W, 3] (HWC order), got {tuple(image.shape)}")
    return as_rgb(image, unit_float=True)


def _segmentation_to_mask(segmentation) -> np.ndarray:
    return rle_decode(segmentation) if isinstance(segmentation, dict) else np.asarray(segmentation, dtype=bool)


def _mask_to_segmentation(mask: np.ndarray, like):
    """`mask` in the same form as the segmentation `like`."""
    if not isinstance(like, dict):
        return mask
    if isinstance(like["counts"], (str, bytes)):
        return rle_encode(mask)
    return masks_to_uncompressed_rle(torch.from_numpy(mask)[None])[0]
