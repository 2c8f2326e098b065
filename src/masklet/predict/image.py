"""Prompted segmentation of still images.

`ImagePredictor` mirrors the reference `SAM2ImagePredictor`: same methods, argument names and
return conventions, so switching is a one-line change. It embeds an image once (`set_image`)
and then answers any number of point / box / mask prompts (`predict`) cheaply. It runs on any
backend (`masklet.backend.TrackingModel`); on the ONNX Runtime backend it computes with numpy and
never imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from masklet.backend.arrays import ArrayOps, to_numpy, under_inference
from masklet.backend.heads import image_embeddings
from masklet.backend.model import require_model
from masklet.predict.postprocess import fill_holes_and_remove_sprinkles
from masklet.predict.prompts import MASK_LOGIT_LIMIT, low_res_mask_input, user_clicks
from masklet.predict.resize import image_input, upscale_logits


@dataclass
class _Prompts:
    """Prompts of one image in the model's input frame (S x S pixels), as arrays of the model's
    backend."""

    coords: Any  # [B, N, 2] (x, y), or None
    labels: Any  # [B, N] int32, or None
    mask_input: Any  # [B, 1, 4h, 4w] logits, or None


@dataclass
class _Embedding:
    """The embedded image(s): arrays of the model's backend."""

    image_embed: Any  # [B, C, h, w] with no_mem_embed added
    high_res_feats: list  # [B, C/8, 4h, 4w], [B, C/4, 2h, 2w]
    orig_hw: list[tuple[int, int]]  # each image's (H, W)


class ImagePredictor:
    """Embeds an image once, then predicts masks for prompts on it.

    Arguments:
      sam_model: a model of any backend (see `masklet.load_model`).
      mask_threshold: logit threshold for binary masks.
      max_hole_area: background regions of at most this many low-res pixels are filled.
      max_sprinkle_area: foreground specks of at most this many low-res pixels are removed.
    """

    def __init__(
        self,
        sam_model,
        mask_threshold: float = 0.0,
        max_hole_area: float = 0.0,
        max_sprinkle_area: float = 0.0,
    ) -> None:
        self.model = require_model(sam_model, "sam_model")
        self.mask_threshold = mask_threshold
        self.max_hole_area = max_hole_area
        self.max_sprinkle_area = max_sprinkle_area
        self.reset_predictor()

    @classmethod
    def from_pretrained(cls, name_or_path: str, device="cpu", dtype=None, **kwargs):
        """A predictor on `masklet.load_model(name_or_path, device=..., dtype=...)`."""
        from masklet.checkpoint import load_model

        return cls(load_model(name_or_path, device=device, dtype=dtype), **kwargs)

    @property
    def device(self):
        return self.model.device

    @property
    def arrays(self) -> ArrayOps:
        return self.model.arrays

    def reset_predictor(self) -> None:
        """Forget the current image(s) and their embeddings."""
        self._embedding: _Embedding | None = None
        self._is_batch = False

    # ------------------------------------------------------------------ embedding

    @under_inference
    def set_image(self, image) -> None:
        """Embed one RGB image (numpy [H, W, 3] uint8, or a PIL image)."""
        self._embed([image])
        self._is_batch = False

    @under_inference
    def set_image_batch(self, image_list: list) -> None:
        """Embed several RGB images at once, for `predict_batch`."""
        if not isinstance(image_list, (list, tuple)) or not image_list:
            raise ValueError("set_image_batch expects a non-empty list of images")
        self._embed(list(image_list))
        self._is_batch = True

    def _embed(self, images: list) -> None:
        self.reset_predictor()
        batch = image_input(images, self.model.image_size, self.arrays)  # [B, 3, S, S]
        orig_hw = [(int(np.asarray(img).shape[0]), int(np.asarray(img).shape[1])) for img in images]
        image_embed, high_res = image_embeddings(self.model, self.arrays.compute(batch))
        self._embedding = _Embedding(image_embed, high_res, orig_hw)

    def get_image_embedding(self):
        """The current image embedding [B, C, S/16, S/16]: a torch.Tensor as the reference returns,
        a numpy array on the ONNX backend."""
        return self._require_image().image_embed

    @property
    def _is_image_set(self) -> bool:
        return self._embedding is not None

    @property
    def _features(self) -> dict | None:
        """The reference predictor's dict of the embedding, for code that reads it."""
        if self._embedding is None:
            return None
        return {"image_embed": self._embedding.image_embed, "high_res_feats": self._embedding.high_res_feats}

    @property
    def _orig_hw(self) -> list[tuple[int, int]]:
        return [] if self._embedding is None else self._embedding.orig_hw

    def _require_image(self) -> _Embedding:
        if self._embedding is None:
            raise RuntimeError("no image is set: call set_image(...) before predicting")
        return self._embedding

    # ------------------------------------------------------------------ prediction

    def predict(
        self, point_coords=None, point_labels=None, box=None, mask_input=None,
        multimask_output: bool = True, return_logits: bool = False, normalize_coords: bool = True,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Masks for prompts on the image set with `set_image`.

        Arguments:
          point_coords: [N, 2] (x, y) pixels, or [B, N, 2] for B prompts at once.
          point_labels: [N] (or [B, N]); 1 foreground, 0 background.
          box: [4] x1, y1, x2, y2 pixels, or [B, 4] for B objects at once.
          mask_input: [1, 256, 256] low-res logits from an earlier call (or [B, 1, 256, 256]).
          multimask_output: three candidate masks instead of one.
          return_logits: return logits instead of thresholded masks.
          normalize_coords: coordinates are pixels of the original image; if False they are
            already normalised to [0, 1].

        Returns (masks [C, H, W], iou_predictions [C], low_res_logits [C, 256, 256]), with a
        leading batch axis B when B > 1 prompts were given.
        """
        self._require_image()
        if self._is_batch:
            raise RuntimeError("a batch of images is set: use predict_batch(...)")
        return self._predict_one(
            0, point_coords, point_labels, box, mask_input,
            multimask_output, return_logits, normalize_coords,
        )

    def predict_batch(
        self, point_coords_batch=None, point_labels_batch=None, box_batch=None, mask_input_batch=None,
        multimask_output: bool = True, return_logits: bool = False, normalize_coords: bool = True,
    ) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
        """`predict` for each image set with `set_image_batch`; each argument is a list with
        one entry (or None) per image. Returns lists of masks, IoU scores and low-res logits."""
        self._require_image()
        if not self._is_batch:
            raise RuntimeError("predict_batch needs images set with set_image_batch(...)")
        num_images = len(self._orig_hw)
        per_image = []
        for name, values in (
            ("point_coords_batch", point_coords_batch), ("point_labels_batch", point_labels_batch),
            ("box_batch", box_batch), ("mask_input_batch", mask_input_batch),
        ):
            if values is not None and len(values) != num_images:
                raise ValueError(f"{name} has {len(values)} entries for {num_images} images")
            per_image.append(values if values is not None else [None] * num_images)
        results = [
            self._predict_one(i, *(v[i] for v in per_image), multimask_output, return_logits, normalize_coords)
            for i in range(num_images)
        ]
        masks, ious, low_res = (list(r) for r in zip(*results))
        return masks, ious, low_res

    @under_inference
    def _predict_one(
        self, img_idx, point_coords, point_labels, box, mask_input,
        multimask_output, return_logits, normalize_coords,
    ):
        prompts = self._prepare_prompts(
            img_idx, point_coords, point_labels, box, mask_input, normalize_coords
        )
        low_res, iou = self._decode(img_idx, prompts, multimask_output)
        masks = upscale_logits(low_res, self._orig_hw[img_idx], self.arrays)  # [B, C, H, W]
        low_res = self.arrays.clamp(low_res, MASK_LOGIT_LIMIT)
        if not return_logits:
            masks = masks > self.mask_threshold
        outputs = (to_numpy(t) for t in (masks, iou, low_res))
        return tuple(a[0] if a.shape[0] == 1 else a for a in outputs)

    def _decode(self, img_idx: int, prompts: _Prompts, multimask_output: bool):
        """The model's decoder for B prompts on image `img_idx` -> (low-res logits
        [B, C, 4h, 4w] with holes and specks cleaned as asked, IoU [B, C])."""
        embedding = self._require_image()
        image_embed = embedding.image_embed[img_idx : img_idx + 1]
        high_res = [f[img_idx : img_idx + 1] for f in embedding.high_res_feats]
        proposals = self.model.decode_prompts(
            image_embed, high_res, prompts.coords, prompts.labels, prompts.mask_input, multimask_output
        )
        cleaned = fill_holes_and_remove_sprinkles(
            proposals.masks, self.mask_threshold, self.max_hole_area, self.max_sprinkle_area, self.arrays
        )
        return cleaned, proposals.ious

    def _prepare_prompts(
        self, img_idx, point_coords, point_labels, box, mask_input, normalize_coords
    ) -> _Prompts:
        h, w = self._orig_hw[img_idx]
        clicks = user_clicks(point_coords, point_labels, box, w, h, self.model.image_size, normalize_coords)
        masks = None
        if mask_input is not None:
            num_prompts = 1 if clicks is None else clicks.coords.shape[0]
            side = 4 * self.model.config.image_embedding_size  # the prompt encoder's mask input
            masks = low_res_mask_input(mask_input, (side, side), num_prompts)
        ops = self.arrays
        return _Prompts(
            coords=None if clicks is None else ops.compute(ops.asarray(clicks.coords)),
            labels=None if clicks is None else ops.asarray(clicks.labels, integer=True),
            mask_input=None if masks is None else ops.compute(ops.asarray(masks)),
        )
