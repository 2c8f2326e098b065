"""Write the automatic-mask-generator parity fixtures from Meta's reference implementation.

Run in a venv with the reference installed (see setup_refvenv.sh), from the repo root:
    /tmp/refvenv/bin/python tools/parity/make_automask_fixtures.py [case ...]
It builds the reference sam2.1-hiera-tiny on the CPU with the seeded weights of weights.py,
runs `SAM2AutomaticMaskGenerator` on a real image for each case of AUTOMASK_CASES and writes
tests/fixtures/parity/automask/<case>.npz: the records (masks as packed bits) and the
generator arguments used. It also writes nms.npz: torchvision's `batched_nms` (which the
reference generator uses) on seeded random boxes with many tied scores.

Random weights give masks that spread over most of the image, so the cases lower the quality
thresholds. Where a case filters on predicted IoU or stability, the threshold is put in the
middle of the widest gap between the reference's own scores, so that differences of 1e-4
cannot move a mask across it.

The reference removes small holes and islands (min_mask_region_area) with a CUDA
connected-components kernel and silently skips that step without it; here the kernel is
replaced by a plain torch labelling that computes the same thing on the CPU.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import torch
from cases import REPO, SEED, SHARED_IMAGES
from make_image_fixtures import build_reference
from PIL import Image

FIXTURES = REPO / "tests" / "fixtures" / "parity" / "automask"
CONFIG = "sam2.1-hiera-tiny"

# name -> (image, window [y0, y1, x0, x1] cut from it to keep the fixtures small, generator
# arguments, which score thresholds to place in a gap). With random weights nearly every box
# spans the whole image (or crop), so box NMS would keep one mask: it is switched off here and
# checked against a brute-force loop in the tests instead. For the same reason the crop-layer
# masks all touch an inner crop edge and are dropped, as the reference's crop filter demands.
AUTOMASK_CASES = {
    "grid": (
        "groceries.jpg",
        (100, 400, 200, 600),
        dict(points_per_side=8, box_nms_thresh=1.0),
        ("pred_iou_thresh", "stability_score_thresh"),
    ),
    "crops_m2m_small_regions": (
        "groceries.jpg",
        (100, 400, 200, 600),
        dict(
            points_per_side=2, crop_n_layers=1, crop_n_points_downscale_factor=2,
            use_m2m=True, min_mask_region_area=200, pred_iou_thresh=0.0,
            stability_score_thresh=0.0, box_nms_thresh=1.0, crop_nms_thresh=1.0,
        ),
        (),
    ),
}
# Quantile of the scores around which a gap threshold is searched.
GAP_QUANTILE = 0.5


def load_case_image(image_name: str, window: tuple[int, int, int, int]) -> np.ndarray:
    """The RGB [H, W, 3] uint8 window of a shared image that a case runs on."""
    y0, y1, x0, x1 = window
    return np.asarray(Image.open(SHARED_IMAGES / image_name).convert("RGB"))[y0:y1, x0:x1]


def cpu_connected_components(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Stand-in for the reference's CUDA kernel: binary masks [N, 1, H, W] -> (8-connected
    component labels, area of each pixel's component), both [N, 1, H, W] int32, 0 off the
    masks. Every pixel takes the largest pixel number among its 8 neighbours in the mask
    until nothing changes, so each component ends up labelled by its largest pixel number."""
    foreground = mask.bool()
    n, _, h, w = foreground.shape
    pixel_numbers = torch.arange(1, h * w + 1, dtype=torch.float64).view(1, 1, h, w)
    labels = torch.where(foreground, pixel_numbers, 0.0)
    while True:
        grown = torch.where(foreground, torch.nn.functional.max_pool2d(labels, 3, 1, 1), 0.0)
        if torch.equal(grown, labels):
            break
        labels = grown
    labels = labels.long()
    areas = torch.zeros_like(labels)
    for i in range(n):
        _, inverse, counts = torch.unique(labels[i], return_inverse=True, return_counts=True)
        areas[i] = torch.where(labels[i] > 0, counts[inverse], 0)
    return labels.int(), areas.int()


def gap_threshold(scores: np.ndarray) -> float:
    """The middle of the widest gap between sorted scores in the middle half, near GAP_QUANTILE."""
    values = np.sort(scores[np.isfinite(scores)])
    lo, hi = int(len(values) * (GAP_QUANTILE - 0.25)), int(len(values) * (GAP_QUANTILE + 0.25))
    middle = values[lo : hi + 1]
    widest = int(np.argmax(np.diff(middle)))
    return float((middle[widest] + middle[widest + 1]) / 2)


def pack(records: list[dict], arguments: dict, image: str, window: tuple) -> dict:
    masks = np.stack([r["segmentation"] for r in records]) if records else np.zeros((0, 1, 1), bool)
    return {
        "arguments": np.array(json.dumps(arguments)),
        "image": np.array(image),
        "window": np.array(window),
        "mask_shape": np.array(masks.shape),
        "masks_packed": np.packbits(masks.reshape(len(records), -1), axis=1),
        "area": np.array([r["area"] for r in records], dtype=np.int64),
        "bbox": np.array([r["bbox"] for r in records], dtype=np.int64).reshape(-1, 4),
        "predicted_iou": np.array([r["predicted_iou"] for r in records], dtype=np.float32),
        "stability_score": np.array([r["stability_score"] for r in records], dtype=np.float32),
        "point_coords": np.array([r["point_coords"][0] for r in records], dtype=np.float32).reshape(-1, 2),
        "crop_box": np.array([r["crop_box"] for r in records], dtype=np.int64).reshape(-1, 4),
    }


# (number of boxes, IoU threshold) of the torchvision NMS checks; above 1,000 boxes torchvision
# switches from shifting categories apart to one NMS per category.
NMS_RUNS = ((300, 0.3), (300, 0.7), (1500, 0.5))


def write_nms_fixture() -> None:
    from torchvision.ops import batched_nms

    rng = np.random.default_rng(SEED)
    arrays = {}
    for i, (count, threshold) in enumerate(NMS_RUNS):
        corners = rng.uniform(0, 100, (count, 2))
        sizes = rng.uniform(0, 60, (count, 2)) * (rng.random((count, 1)) > 0.05)  # some empty boxes
        boxes = np.concatenate([corners, corners + sizes], axis=1).astype(np.float32)
        scores = rng.integers(0, 20, count).astype(np.float32)  # many ties
        categories = rng.integers(0, 3, count)
        kept = batched_nms(torch.from_numpy(boxes), torch.from_numpy(scores), torch.from_numpy(categories), threshold)
        arrays.update({
            f"{i}_boxes": boxes, f"{i}_scores": scores, f"{i}_categories": categories,
            f"{i}_threshold": np.float32(threshold), f"{i}_kept": kept.numpy(),
        })
    np.savez_compressed(FIXTURES / "nms.npz", **arrays)


def main(names: list[str]) -> None:
    import sam2.utils.misc
    from sam2.automatic_mask_generator import SAM2AutomaticMaskGenerator

    sam2.utils.misc.get_connected_components = cpu_connected_components
    torch.set_grad_enabled(False)
    FIXTURES.mkdir(parents=True, exist_ok=True)
    if not names or "nms" in names:
        write_nms_fixture()
    selected = [name for name in AUTOMASK_CASES if not names or name in names]
    model = build_reference(CONFIG) if selected else None
    for name in selected:
        image_name, window, arguments, gap_thresholds = AUTOMASK_CASES[name]
        start = time.time()
        image = load_case_image(image_name, window)
        arguments = dict(arguments)
        if gap_thresholds:
            unfiltered = SAM2AutomaticMaskGenerator(
                model, **arguments, **{key: 0.0 for key in gap_thresholds}
            ).generate(image)
            score_of = {"pred_iou_thresh": "predicted_iou", "stability_score_thresh": "stability_score"}
            for key in gap_thresholds:
                arguments[key] = gap_threshold(np.array([r[score_of[key]] for r in unfiltered]))
        records = SAM2AutomaticMaskGenerator(model, **arguments).generate(image)
        np.savez_compressed(FIXTURES / f"{name}.npz", **pack(records, arguments, image_name, window))
        print(f"{name}: {len(records)} masks with {arguments}, {time.time() - start:.1f}s")


if __name__ == "__main__":
    main(sys.argv[1:])
