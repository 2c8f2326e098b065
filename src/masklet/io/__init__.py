"""Reading and writing masks, annotations and datasets, and reading images and videos."""

from masklet.io.atomic import OutputNotWritableError
from masklet.io.coco import CocoImage, CocoInstance, read_coco_json, write_coco_json
from masklet.io.davis import (
    label_map_to_masks,
    logits_to_label_map,
    masks_to_label_map,
    read_davis_png,
    write_davis_png,
)
from masklet.io.image import IMAGE_SUFFIXES, ImageReadError, as_rgb, read_rgb
from masklet.io.overlay import VideoOverlayWriter, overlay_masks, write_overlay_png
from masklet.io.palette import DAVIS_PALETTE, object_colour
from masklet.io.rle import rle_area, rle_decode, rle_encode
from masklet.io.sav import SavVideo, read_sav_json, write_sav_json
from masklet.io.sav_pngs import read_sav_pngs, write_sav_pngs
from masklet.io.video import VideoReadError, VideoSource, open_video
from masklet.io.vos_dataset import open_vos_dataset
from masklet.io.yolo import (
    masks_to_yolo_polygons,
    read_yolo_classes,
    read_yolo_labels,
    write_yolo_classes,
    write_yolo_labels,
)

__all__ = [
    "CocoImage", "CocoInstance", "DAVIS_PALETTE", "IMAGE_SUFFIXES", "ImageReadError", "OutputNotWritableError",
    "SavVideo", "VideoOverlayWriter", "VideoReadError", "VideoSource", "as_rgb", "label_map_to_masks",
    "logits_to_label_map", "masks_to_label_map", "masks_to_yolo_polygons", "object_colour", "open_video",
    "open_vos_dataset", "overlay_masks", "read_coco_json", "read_davis_png", "read_rgb", "read_sav_json",
    "read_sav_pngs", "read_yolo_classes", "read_yolo_labels", "rle_area", "rle_decode", "rle_encode",
    "write_coco_json", "write_davis_png", "write_overlay_png", "write_sav_json", "write_sav_pngs",
    "write_yolo_classes", "write_yolo_labels",
]
