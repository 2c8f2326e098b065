"""Reading and writing masks and annotations, and reading videos."""

from masklet.io.rle import rle_area, rle_decode, rle_encode
from masklet.io.sav import SavVideo, read_sav_json
from masklet.io.video import VideoReadError, VideoSource, open_video

__all__ = [
    "SavVideo",
    "VideoReadError",
    "VideoSource",
    "open_video",
    "read_sav_json",
    "rle_area",
    "rle_decode",
    "rle_encode",
]
