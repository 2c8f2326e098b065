"""The prompts and inputs of the image parity fixtures (shared by generator and tests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SEED = 0
REPO = Path(__file__).resolve().parents[2]
SHARED_IMAGES = REPO.parent / "shared" / "data" / "images"
FIXTURES = REPO / "tests" / "fixtures" / "parity" / "image"


@dataclass(frozen=True)
class PromptCase:
    name: str
    point_coords: list | None = None
    point_labels: list | None = None
    box: list | None = None
    multimask_output: bool = True
    mask_from: str | None = None  # feed the best low-res logits of this earlier case

    def kwargs(self) -> dict:
        out = {"multimask_output": self.multimask_output}
        if self.point_coords is not None:
            out["point_coords"] = np.array(self.point_coords, dtype=np.float32)
            out["point_labels"] = np.array(self.point_labels, dtype=np.int32)
        if self.box is not None:
            out["box"] = np.array(self.box, dtype=np.float32)
        return out


# Coordinates are pixels of the original images (truck 1800x1200, cars 2250x1500,
# groceries 800x534).
PROMPTS = {
    "truck": [
        PromptCase("point", [[900, 600]], [1]),
        PromptCase("points", [[900, 600], [500, 375], [1300, 800]], [1, 1, 0], multimask_output=False),
        PromptCase("box", box=[425, 600, 700, 875], multimask_output=False),
        PromptCase("box_points", [[575, 750]], [0], box=[75, 275, 1725, 850], multimask_output=False),
        PromptCase("mask_input", [[1100, 500]], [1], multimask_output=False, mask_from="point"),
        PromptCase("boxes", box=[[75, 275, 1725, 850], [425, 600, 700, 875], [1375, 550, 1650, 800]]),
    ],
    "cars": [
        PromptCase("point", [[1125, 900]], [1]),
        PromptCase("box", box=[100, 600, 1000, 1300], multimask_output=False),
        PromptCase("mask_input", [[1200, 950], [300, 300]], [1, 0], multimask_output=False, mask_from="point"),
    ],
    "groceries": [
        PromptCase("point", [[400, 300]], [1]),
        PromptCase("points", [[400, 300], [150, 150]], [1, 0]),
        PromptCase("boxes", box=[[50, 100, 350, 450], [400, 80, 750, 500]], multimask_output=False),
    ],
}

# Which images and prompt cases each config is checked on (big models get fewer).
FULL = {img: [c.name for c in cases] for img, cases in PROMPTS.items()}
REDUCED = {"truck": ["point", "box_points", "mask_input", "boxes"]}


@dataclass(frozen=True)
class ConfigPlan:
    name: str
    prompts: dict = field(default_factory=dict)
    logit_stride: int = 4  # stored low-res logits are subsampled [::stride, ::stride]
    batch: bool = False  # also check set_image_batch / predict_batch


PLANS = [
    ConfigPlan("sam2.1-hiera-tiny", FULL, logit_stride=2, batch=True),
    ConfigPlan("sam2-hiera-tiny", {"truck": FULL["truck"]}, logit_stride=2),
    ConfigPlan("sam2.1-hiera-small", REDUCED),
    ConfigPlan("sam2-hiera-small", REDUCED),
    ConfigPlan("sam2.1-hiera-base-plus", REDUCED),
    ConfigPlan("sam2-hiera-base-plus", REDUCED),
    ConfigPlan("sam2.1-hiera-large", REDUCED),
    ConfigPlan("sam2-hiera-large", REDUCED),
]

# The batch check: two images, one prompt set each.
BATCH_IMAGES = ["truck", "groceries"]
BATCH_PROMPTS = [
    {"point_coords": np.array([[900, 600]], np.float32), "point_labels": np.array([1], np.int32)},
    {"box": np.array([50, 100, 350, 450], np.float32)},
]


def load_image(name: str) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(SHARED_IMAGES / f"{name}.jpg").convert("RGB"))


def case_by_name(image: str, name: str) -> PromptCase:
    return next(c for c in PROMPTS[image] if c.name == name)


def run_plan(plan: ConfigPlan, predictor, image_cache: dict | None = None) -> dict[str, np.ndarray]:
    """Run every prompt of `plan` through an image predictor (reference or Masklet; both have
    the same API) and return the raw outputs keyed '<image>/<case>/<field>'."""
    image_cache = {} if image_cache is None else image_cache
    out = {}
    for image_name, case_names in plan.prompts.items():
        image = image_cache.setdefault(image_name, load_image(image_name))
        predictor.set_image(image)
        best_logits = {}
        for case_name in case_names:
            case = case_by_name(image_name, case_name)
            kwargs = case.kwargs()
            if case.mask_from:
                kwargs["mask_input"] = best_logits[case.mask_from]
            masks, ious, low_res = predictor.predict(**kwargs)
            best = int(np.argmax(ious.reshape(-1, ious.shape[-1])[0]))
            best_logits[case_name] = low_res.reshape(-1, *low_res.shape[-3:])[0][best : best + 1]
            key = f"{image_name}/{case_name}"
            out[f"{key}/masks"] = masks
            out[f"{key}/iou"] = ious
            out[f"{key}/low_res"] = low_res
    if plan.batch:
        predictor.set_image_batch([image_cache.setdefault(n, load_image(n)) for n in BATCH_IMAGES])
        masks, ious, low_res = predictor.predict_batch(
            point_coords_batch=[p.get("point_coords") for p in BATCH_PROMPTS],
            point_labels_batch=[p.get("point_labels") for p in BATCH_PROMPTS],
            box_batch=[p.get("box") for p in BATCH_PROMPTS],
        )
        for i, name in enumerate(BATCH_IMAGES):
            out[f"batch/{name}/masks"] = masks[i]
            out[f"batch/{name}/iou"] = ious[i]
            out[f"batch/{name}/low_res"] = low_res[i]
    return out


def pack(outputs: dict[str, np.ndarray], logit_stride: int) -> dict[str, np.ndarray]:
    """Shrink raw outputs for committing: subsampled logits, bit-packed binary masks."""
    packed = {}
    for key, value in outputs.items():
        if key.endswith("/masks"):
            packed[key] = np.packbits(value.astype(bool).reshape(-1))
            packed[key + "_shape"] = np.array(value.shape)
        elif key.endswith("/low_res"):
            packed[key] = value[..., ::logit_stride, ::logit_stride].astype(np.float32)
        else:
            packed[key] = value.astype(np.float32)
    return packed


def unpack_masks(fixture, key: str) -> np.ndarray:
    shape = tuple(fixture[key + "_shape"])
    return np.unpackbits(fixture[key])[: int(np.prod(shape))].reshape(shape).astype(bool)
