"""Reading and writing masks and annotations."""

from masklet.io.rle import rle_area, rle_decode, rle_encode
from masklet.io.sav import SavVideo, read_sav_json

__all__ = ["SavVideo", "read_sav_json", "rle_area", "rle_decode", "rle_encode"]
