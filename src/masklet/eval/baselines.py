"""Model-free baselines that plug into the benchmark runners, to put a model's scores in context.

`CopyMaskPredictor` answers `run_vos_benchmark` like a video predictor that never moves the
prompt: every frame gets each object's prompt mask as it was given. On DAVIS this "copy the
first-frame mask" baseline measures how much the objects move; a tracker must beat it.

`RandomWalkerClicker` answers `run_interactive` like `PredictorClicker`, with the random
walker segmentation (Grady, 2006; scikit-image's implementation) seeded by the clicks, the
image border counting as background: a classic model-free interactive segmenter.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from PIL import Image

from masklet.eval.interactive import Click
from masklet.predict.results import FrameResult


class CopyMaskPredictor:
    """The video-predictor calls `run_vos_benchmark` makes (`init_state`, `add_new_mask`,
    `propagate`), answered by repeating each object's prompt mask on every later frame."""

    def init_state(self, video) -> dict:
        return {"num_frames": len(video), "masks": {}, "first_frame": {}}

    def add_new_mask(self, state: dict, frame_idx: int, obj_id: int, mask) -> None:
        state["masks"][obj_id] = torch.as_tensor(np.asarray(mask, bool))  # [H, W]
        state["first_frame"][obj_id] = frame_idx

    def propagate(self, state: dict):
        """FrameResults from the first prompted frame to the last; an object is drawn from
        its own prompt frame on (`run_vos_benchmark` blanks it before)."""
        obj_ids = sorted(state["masks"])
        masks = torch.stack([state["masks"][o] for o in obj_ids])  # [N, H, W]
        logits = torch.where(masks, 1.0, -1.0)
        for frame_idx in range(min(state["first_frame"].values()), state["num_frames"]):
            yield FrameResult(frame_idx, obj_ids, logits, torch.ones(len(obj_ids)))


class RandomWalkerClicker:
    """Random walker segmentation from clicks (positive clicks seed the object, negative clicks
    and the image border seed the background), solved on the image scaled to `max_side`
    pixels (CIELAB colours) and brought back to full size by bilinear interpolation of the
    object probability."""

    def __init__(self, max_side: int = 200, beta: float = 130.0) -> None:
        self.max_side = max_side
        self.beta = beta
        self._lab: np.ndarray | None = None  # [h, w, 3] the scaled image in CIELAB
        self._size = (0, 0)  # (H, W) of the full image

    def set_image(self, image: np.ndarray) -> None:
        from skimage.color import rgb2lab

        height, width = image.shape[:2]
        scale = min(1.0, self.max_side / max(height, width))
        small = Image.fromarray(image).resize((max(1, round(width * scale)), max(1, round(height * scale))),
                                              Image.BILINEAR)
        self._lab = rgb2lab(np.asarray(small))
        self._size = (height, width)

    def predict_clicks(self, clicks: list[Click]) -> np.ndarray:
        """bool [H, W] mask of the object."""
        from skimage.segmentation import random_walker

        height, width = self._size
        small_h, small_w = self._lab.shape[:2]
        seeds = np.zeros((small_h, small_w), np.int32)  # 0 unknown, 1 object, 2 background
        seeds[0, :] = seeds[-1, :] = seeds[:, 0] = seeds[:, -1] = 2
        for click in clicks:  # later clicks win where two land on the same scaled pixel
            row = min(small_h - 1, int(click.y * small_h / height))
            col = min(small_w - 1, int(click.x * small_w / width))
            seeds[row, col] = 1 if click.positive else 2
        if not (seeds == 1).any():  # every positive click overwritten by a negative one
            return np.zeros((height, width), bool)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "probability range outside [0, 1]" at tol
            prob = random_walker(self._lab, seeds, beta=self.beta, mode="cg_j", channel_axis=-1,
                                 return_full_prob=True)[0]  # [h, w] object probability
        full = Image.fromarray(prob.astype(np.float32)).resize((width, height), Image.BILINEAR)
        return np.asarray(full) > 0.5
