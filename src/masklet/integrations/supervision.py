"""Masklet results as `supervision.Detections` (https://github.com/roboflow/supervision), so
supervision's annotators, trackers' visualisations, filters and sinks take them.

    import supervision as sv
    from masklet.integrations.supervision import detections_from_frame, detections_from_records

    detections = detections_from_frame(result)            # a FrameResult of a video / stream
    detections = detections_from_records(generator.generate(image))   # `masklet auto` records
    annotated = sv.MaskAnnotator().annotate(frame.copy(), detections)

`sv.Detections.from_sam(records)` also takes the automatic generator's records as they are (it
drops their scores, and orders by area); `detections_from_records` keeps predicted IoU as the
confidence and the other scores in `detections.data`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from masklet.io.rle import rle_decode
from masklet.predict.results import FrameResult

if TYPE_CHECKING:
    import supervision as sv


def _supervision():
    try:
        import supervision
    except ImportError:
        raise ImportError("the supervision glue needs supervision: pip install 'masklet[supervision]'") from None
    return supervision


def detections_from_frame(result: FrameResult, visible_only: bool = True) -> sv.Detections:
    """The objects of one tracked frame as detections.

    mask: [N, H, W] bool; xyxy: each mask's box; tracker_id: the object ids where they are all
    ints, else their positions (annotators colour objects apart with
    `color_lookup=sv.ColorLookup.TRACK`); class_id: 0 (Masklet tracks objects, not classes);
    confidence: sigmoid of the object score (the model's belief that the object is visible);
    data["obj_id"]: the ids as given. With `visible_only`, objects judged absent (object score
    <= 0) or with an empty mask are left out, as a detector would not report them."""
    sv = _supervision()
    masks = result.masks  # [N, H, W] bool
    scores = np.asarray(result.object_score_logits, dtype=np.float64).reshape(-1)
    ids = list(result.obj_ids)
    keep = np.ones(len(ids), bool)
    if visible_only:
        keep = result.visible & masks.reshape(len(ids), -1).any(axis=1)
    rows = np.flatnonzero(keep)
    if len(rows) == 0:
        return sv.Detections.empty()
    int_ids = all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in ids)
    tracker_id = np.array([ids[r] if int_ids else r for r in rows], dtype=int)
    return sv.Detections(
        xyxy=sv.mask_to_xyxy(masks[rows]).astype(np.float32),
        mask=masks[rows],
        confidence=(1 / (1 + np.exp(-scores[rows]))).astype(np.float32),
        tracker_id=tracker_id,
        class_id=np.zeros(len(rows), dtype=int),
        data={"obj_id": np.array([ids[r] for r in rows], dtype=object)},
    )


def detections_from_records(records: list[dict[str, Any]]) -> sv.Detections:
    """The automatic mask generator's records (`MaskGenerator.generate`, `masklet auto`; any
    `output_mode`) as detections, in their order: mask [N, H, W] bool, xyxy from their `bbox`
    (x, y, w, h), confidence = predicted IoU, class_id 0 (annotators colour masks apart with
    `color_lookup=sv.ColorLookup.INDEX`), data["stability_score"], data["area"]."""
    sv = _supervision()
    if not records:
        return sv.Detections.empty()
    masks = np.stack([_dense(r["segmentation"]) for r in records])
    boxes = np.array([r["bbox"] for r in records], dtype=np.float32)  # [N, 4] x, y, w, h
    boxes[:, 2:] += boxes[:, :2]
    return sv.Detections(
        xyxy=boxes,
        mask=masks,
        confidence=np.array([r["predicted_iou"] for r in records], dtype=np.float32),
        class_id=np.zeros(len(records), dtype=int),
        data={
            "stability_score": np.array([r["stability_score"] for r in records], dtype=np.float32),
            "area": np.array([r["area"] for r in records], dtype=np.int64),
        },
    )


def _dense(segmentation) -> np.ndarray:
    """A record's segmentation (bool array, or COCO RLE with string or list counts) -> [H, W] bool."""
    if isinstance(segmentation, dict):
        return rle_decode(segmentation).astype(bool)
    return np.asarray(segmentation, dtype=bool)
