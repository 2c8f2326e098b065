"""Prompted segmentation of still images.

`ImagePredictor` mirrors the reference `SAM2ImagePredictor`: same methods, argument names and
return conventions, so switching is a one-line change. It embeds an image once (`set_image`)
and then answers any number of point / box / mask prompts (`predict`) cheaply. On the ONNX
Runtime backend it computes with numpy and never imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from masklet.onnxrt.model import OnnxSAM2Model
from masklet.predict import arrays
from masklet.predict.postprocess import fill_holes_and_remove_sprinkles
from masklet.predict.prompts import MASK_LOGIT_LIMIT, low_res_mask_input, require_sam2_model, user_clicks
from masklet.predict.transforms import preprocess, upscale_logits


@dataclass
class _Prompts:
    """Prompts of one image in the model's input frame (S x S pixels); tensors for a torch
    model, numpy arrays for the ONNX backend."""

    coords: Any  # [B, N, 2] (x, y), or None
    labels: Any  # [B, N] int32, or None
    mask_input: Any  # [B, 1, 4h, 4w] logits, or None


class ImagePredictor:
    """Embeds an image once, then predicts masks for prompts on it.

    Arguments:
      sam_model: a `SAM2Model` or the ONNX backend's `OnnxSAM2Model` (see `masklet.load_model`).
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
        self.model = require_sam2_model(sam_model, "sam_model", allow_onnx=True)
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
    def _onnx(self) -> bool:
        return isinstance(self.model, OnnxSAM2Model)

    def reset_predictor(self) -> None:
        """Forget the current image(s) and their embeddings."""
        self._features = None
        self._orig_hw: list[tuple[int, int]] = []
        self._is_image_set = False
        self._is_batch = False

    # ------------------------------------------------------------------ embedding

    @arrays.inference_mode
    def set_image(self, image) -> None:
        """Embed one RGB image (numpy [H, W, 3] uint8, or a PIL image)."""
        self._embed([image])
        self._is_batch = False

    @arrays.inference_mode
    def set_image_batch(self, image_list: list) -> None:
        """Embed several RGB images at once, for `predict_batch`."""
        if not isinstance(image_list, (list, tuple)) or not image_list:
            raise ValueError("set_image_batch expects a non-empty list of images")
        self._embed(list(image_list))
        self._is_batch = True

    def _embed(self, images: list) -> None:
        self.reset_predictor()
        batch = preprocess(images, self.model.image_size, use_torch=not self._onnx)  # [B, 3, S, S]
        orig_hw = [tuple(int(s) for s in (np.asarray(img).shape[:2])) for img in images]
        image_embed, high_res = self.model.image_embeddings(arrays.arrays_for(self.model).compute(batch))
        self._features = {"image_embed": image_embed, "high_res_feats": high_res}
        self._orig_hw = orig_hw
        self._is_image_set = True

    def get_image_embedding(self):
        """The current image embedding [B, C, S/16, S/16] (a numpy array on the ONNX backend)."""
        self._require_image()
        return self._features["image_embed"]

    def _require_image(self) -> None:
        if not self._is_image_set:
            raise RuntimeError("no image is set: call set_image(...) before predicting")

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

    @arrays.inference_mode
    def _predict_one(
        self, img_idx, point_coords, point_labels, box, mask_input,
        multimask_output, return_logits, normalize_coords,
    ):
        prompts = self._prepare_prompts(
            img_idx, point_coords, point_labels, box, mask_input, normalize_coords
        )
        low_res, iou = self._decode(img_idx, prompts, multimask_output)
        masks = upscale_logits(low_res, self._orig_hw[img_idx])  # [B, C, H, W]
        low_res = arrays.clamp(low_res, MASK_LOGIT_LIMIT)
        if not return_logits:
            masks = masks > self.mask_threshold
        outputs = (arrays.to_numpy(t) for t in (masks, iou, low_res))
        return tuple(a[0] if a.shape[0] == 1 else a for a in outputs)

    def _decode(self, img_idx: int, prompts: _Prompts, multimask_output: bool):
        """Prompt encoder + mask decoder -> (low-res logits [B, C, 4h, 4w], IoU [B, C])."""
        model = self.model
        image_embed = self._features["image_embed"][img_idx : img_idx + 1]
        high_res = [f[img_idx : img_idx + 1] for f in self._features["high_res_feats"]]
        if self._onnx:
            low_res, iou = self._decode_onnx(image_embed, high_res, prompts, multimask_output)
            return fill_holes_and_remove_sprinkles(low_res, self.mask_threshold, self.max_hole_area, self.max_sprinkle_area), iou
        points = None if prompts.coords is None else (prompts.coords, prompts.labels)
        sparse, dense = model.sam_prompt_encoder(points=points, boxes=None, masks=prompts.mask_input)
        num_prompts = sparse.shape[0]
        low_res, iou, _, _ = model.sam_mask_decoder(
            image_embeddings=image_embed,
            image_pe=model.sam_prompt_encoder.get_dense_pe(),
            sparse_prompt_embeddings=sparse,
            dense_prompt_embeddings=dense,
            multimask_output=multimask_output,
            repeat_image=num_prompts > 1,
            high_res_features=high_res,
        )
        low_res = fill_holes_and_remove_sprinkles(
            low_res.float(), self.mask_threshold, self.max_hole_area, self.max_sprinkle_area
        )
        return low_res, iou

    def _decode_onnx(self, image_embed, high_res, prompts: _Prompts, multimask_output: bool):
        """The ONNX Runtime backend's decoder graph for B prompts on one image."""
        if prompts.coords is None:
            raise ValueError(
                "a mask_input without clicks or a box cannot run on the ONNX backend (its decoder always "
                "takes points): add a click or a box, or load the model with backend='torch'"
            )
        num_prompts = prompts.coords.shape[0]
        proposals = self.model.propose_masks(
            self.model.arrays.repeat_rows(image_embed, num_prompts), high_res, prompts.coords, prompts.labels,
            prompts.mask_input, multimask_output,
        )
        return proposals.masks, proposals.ious

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
        ops = arrays.arrays_for(self.model)
        return _Prompts(
            coords=None if clicks is None else ops.compute(ops.asarray(clicks.coords)),
            labels=None if clicks is None else ops.asarray(clicks.labels, integer=True),
            mask_input=None if masks is None else ops.compute(ops.asarray(masks)),
        )
