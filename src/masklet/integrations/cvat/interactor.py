"""A CVAT interaction function: clicks and / or a box on an image -> the object's mask.

    cvat-cli function create-native "Masklet" \\
        --function-module masklet.integrations.cvat.interactor -p model=str:masklet-nano

The image is embedded once (`preprocess_image`, which the cvat-cli agent caches per frame);
each set of clicks is then a cheap decoder call. A single click is ambiguous, so it gets SAM's
three candidate masks and the one with the highest predicted IoU; more clicks or a box get one
mask. The predicted IoU is returned as CVAT's confidence attribute.
"""

from __future__ import annotations

import numpy as np
import PIL.Image
from cvat_sdk import models
from cvat_sdk.auto_annotation import (
    InteractionFunctionContext,
    InteractionFunctionSpec,
    InteractionPrompts,
    InteractionResultAttributes,
    InteractionResultShape,
)

from masklet.integrations.cvat import CvatShapeError, load_function_model
from masklet.integrations.cvat.shapes import mask_shape_points
from masklet.predict.image import ImagePredictor


class MaskletInteractor:
    """CVAT's `InteractionFunction` protocol over a Masklet model: positive and negative clicks
    and an optional box, in any combination but not none at all."""

    spec = InteractionFunctionSpec(min_pos_points=0, min_neg_points=0, min_bounding_boxes=0)

    def __init__(self, model) -> None:
        self.model = model

    def preprocess_image(self, context: InteractionFunctionContext, image: PIL.Image.Image) -> ImagePredictor:
        """A predictor holding the image's embedding; `detect` only reads it."""
        predictor = ImagePredictor(self.model)
        predictor.set_image(np.asarray(image.convert("RGB")))
        return predictor

    def detect(
        self, context: InteractionFunctionContext, pp_image: ImagePredictor, prompts: InteractionPrompts
    ) -> list[InteractionResultShape]:
        """The object's mask as one "mask" shape, or no shape when the mask is empty."""
        points = [*prompts.pos_points, *prompts.neg_points]
        box = prompts.bounding_box
        if not points and box is None:
            raise CvatShapeError("no prompt: give at least one click or a box")
        masks, scores, _ = pp_image.predict(
            point_coords=np.asarray(points, dtype=np.float32).reshape(-1, 2) if points else None,
            point_labels=np.array([1] * len(prompts.pos_points) + [0] * len(prompts.neg_points)) if points else None,
            box=np.asarray(box, dtype=np.float32).reshape(4) if box is not None else None,
            multimask_output=len(points) == 1 and box is None,
        )  # masks [C, H, W] bool, scores [C]
        best = int(np.argmax(scores))
        encoded = mask_shape_points("mask", masks[best])
        if encoded is None:
            return []
        confidence = models.AttributeValRequest(
            spec_id=InteractionResultAttributes.CONFIDENCE, value=str(float(np.clip(scores[best], 0.0, 1.0)))
        )
        return [InteractionResultShape(type="mask", points=encoded, attributes=[confidence])]


def create(model: str = "masklet-nano", device: str = "cpu") -> MaskletInteractor:
    """The function cvat-cli loads (`-p model=str:NAME_OR_PATH -p device=str:cuda`)."""
    return MaskletInteractor(load_function_model(model, device))
