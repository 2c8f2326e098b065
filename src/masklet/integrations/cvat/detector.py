"""A CVAT detection function: every object in an image, unprompted (`MaskGenerator`), as masks
(or polygons when CVAT asks for them) of one label, "object".

    cvat-cli task auto-annotate TASK_ID --function-module masklet.integrations.cvat.detector \\
        -p model=str:sam2.1-hiera-tiny --conf-threshold 0.9

CVAT's confidence threshold filters on the masks' predicted IoU, after the generator's own
thresholds. masklet-nano was trained for prompted and tracked masks: with the generator's
default thresholds it keeps no mask, so use an official model here. With "convert masks to polygons" each 4-connected part of a
mask becomes a polygon.
"""

from __future__ import annotations

import numpy as np
import PIL.Image
from cvat_sdk import models
from cvat_sdk.auto_annotation import DetectionFunctionContext, DetectionFunctionSpec, label_spec, mask, polygon
from cvat_sdk.masks import encode_mask

from masklet.integrations.cvat import load_function_model
from masklet.io.polygons import outer_contours
from masklet.predict.automatic import MaskGenerator

LABEL_ID = 0


class MaskletDetector:
    """CVAT's `DetectionFunction` protocol over Masklet's automatic mask generator."""

    spec = DetectionFunctionSpec(labels=[label_spec("object", LABEL_ID, type="mask")])

    def __init__(self, generator: MaskGenerator) -> None:
        self.generator = generator

    def detect(self, context: DetectionFunctionContext, image: PIL.Image.Image) -> list[models.LabeledShapeRequest]:
        """One shape per generated mask (per mask part, as polygons), in the generator's order."""
        threshold = context.conf_threshold or 0.0
        segmentations = [r["segmentation"] for r in self.generator.generate(np.asarray(image.convert("RGB")))
                         if r["predicted_iou"] >= threshold]  # each [H, W] bool
        if context.conv_mask_to_poly:
            return [polygon(LABEL_ID, outline.reshape(-1).tolist()) for s in segmentations for outline in outer_contours(s)]
        return [mask(LABEL_ID, encode_mask(s)) for s in segmentations if s.any()]


def create(model: str = "masklet-nano", device: str = "cpu", **generator_options) -> MaskletDetector:
    """The function cvat-cli loads (`-p model=str:NAME_OR_PATH -p device=str:cuda`); other
    parameters are `MaskGenerator`'s (`-p points_per_side=int:16 -p stability_score_thresh=float:0.9`)."""
    return MaskletDetector(MaskGenerator(load_function_model(model, device), **generator_options))
