"""A CVAT tracking function: a mask, polygon or rectangle on one frame -> the same object's
shape on each frame CVAT asks about next (CVAT's SAM 2 tracker role).

    cvat-cli function create-native "Masklet tracker" \\
        --function-module masklet.integrations.cvat.tracker -p model=str:masklet-nano

Each shape CVAT starts tracking gets its own `StreamTracker`, prompted with the shape's mask
(rectangles: with the box); every later frame is pushed through it, so the object is found
from SAM 2's memory of the start frame and the frames since, as in `VideoPredictor`. A frame
goes through the image encoder once (`preprocess_image`) however many shapes are tracked on it.
A shape comes back with its own type; None when the object is no longer seen.
"""

from __future__ import annotations

import numpy as np
import PIL.Image
from cvat_sdk.auto_annotation import (
    TrackableShape,
    TrackingFunctionContext,
    TrackingFunctionShapeContext,
    TrackingFunctionSpec,
)

from masklet.integrations.cvat import CvatShapeError, load_function_model
from masklet.integrations.cvat.shapes import SHAPE_TYPES, mask_shape_points, rectangle_box, shape_mask
from masklet.predict.stream import EncodedFrame, StreamTracker, encode_frame

OBJ_ID = 1  # each tracker follows one shape


class MaskletTracker:
    """CVAT's `TrackingFunction` protocol over a Masklet model; the tracking state of a shape is
    its `StreamTracker`."""

    spec = TrackingFunctionSpec(supported_shape_types=SHAPE_TYPES)

    def __init__(self, model) -> None:
        self.model = model

    def preprocess_image(self, context: TrackingFunctionContext, image: PIL.Image.Image) -> EncodedFrame:
        return encode_frame(self.model, np.asarray(image.convert("RGB")))

    def init_tracking_state(
        self, context: TrackingFunctionShapeContext, pp_image: EncodedFrame, shape: TrackableShape
    ) -> StreamTracker:
        """A tracker whose frame 0 is this image, with the shape as its object's prompt."""
        if shape.type not in SHAPE_TYPES:
            raise CvatShapeError(f"cannot track a {shape.type!r} shape; expected one of {sorted(SHAPE_TYPES)}")
        tracker = StreamTracker(self.model)
        tracker.track(pp_image)
        if shape.type == "rectangle":
            tracker.add_new_points_or_box(OBJ_ID, box=rectangle_box(shape.points))
        else:
            height, width = pp_image.pixels.shape[:2]
            tracker.add_new_mask(OBJ_ID, shape_mask(shape.type, shape.points, height, width))
        return tracker

    def track(
        self, context: TrackingFunctionShapeContext, pp_image: EncodedFrame, state: StreamTracker
    ) -> TrackableShape | None:
        """The object on this image as a shape of its original type, or None when it is gone."""
        mask = state.track(pp_image).masks[0]  # [H, W] bool
        points = mask_shape_points(context.original_shape_type, mask)
        return None if points is None else TrackableShape(type=context.original_shape_type, points=points)


def create(model: str = "masklet-nano", device: str = "cpu") -> MaskletTracker:
    """The function cvat-cli loads (`-p model=str:NAME_OR_PATH -p device=str:cuda`)."""
    return MaskletTracker(load_function_model(model, device))
