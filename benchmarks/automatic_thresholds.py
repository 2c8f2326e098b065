"""Choose a model's automatic-mask thresholds: which masks of "segment everything" to keep.

    .venv/bin/python benchmarks/automatic_thresholds.py --model masklet-nano \
        [--data ../shared/data/interactive/GrabCut] [--points-per-side 16] [--output X.json]

The reference's defaults (predicted IoU > 0.8, stability >= 0.95 at logit offset 1) suit
official checkpoints, whose logits are confident. A small model trained on two CPU cores scores
its masks low and its logits stay near 0, so those defaults keep nothing. This script runs
`MaskGenerator` with every filter off on an image+mask folder (GrabCut by default: 50 images,
one annotated object each), once per stability offset, and then for each threshold pair on a
grid keeps the masks passing both, removes duplicates as the generator does (box NMS 0.7), and
measures:

  recall  the mean over images of the best IoU between a kept mask and the annotated object
  masks   the mean number of kept masks per image

Rule: among pairs whose recall is at least 95% of the unfiltered recall at that offset, the
pair keeping the fewest masks (ties: the higher thresholds); over offsets, the one with the
fewest masks. The result goes into `masklet.predict.automatic.MODEL_THRESHOLDS`. The choice
looks at the folder's annotations, so say which folder in the model card.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

REPO = Path(__file__).resolve().parents[1]
IOU_GRID = (0.0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
STABILITY_GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95)
OFFSETS = (1.0, 0.5, 0.25)
RECALL_KEPT = 0.95
BOX_NMS = 0.7


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="masklet-nano", help="model name or checkpoint (default: masklet-nano)")
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "interactive" / "GrabCut"),
                        help="image+mask folder (GrabCut or COCO_MVal layout; default: ../shared's GrabCut)")
    parser.add_argument("--points-per-side", type=int, default=16, help="the generator's grid (default: 16, serve's)")
    parser.add_argument("--limit", type=int, help="only the first N images")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default: 2)")
    parser.add_argument("--output", help="write the report as JSON here")
    return parser.parse_args(argv)


def candidates(model, data: str, points_per_side: int, offset: float, limit: int | None) -> list[dict]:
    """Per image: every mask's predicted IoU, stability, box [x0, y0, x1, y1] and IoU with the
    annotated object (no filter, no NMS)."""
    from masklet import MaskGenerator
    from masklet.eval.interactive import image_paths, iou, read_image_mask_folder

    generator = MaskGenerator(model, points_per_side=points_per_side, pred_iou_thresh=0.0,
                              stability_score_thresh=0.0, stability_score_offset=offset, box_nms_thresh=1.0)
    images = []
    count = len(image_paths(data)[:limit])
    for name, image, truth, ignore in tqdm(read_image_mask_folder(data, limit), total=count,
                                           desc=f"offset {offset}", unit="img"):
        records = [r for r in generator.generate(image) if r["area"] > 0]
        images.append({
            "name": name,
            "predicted_iou": np.array([r["predicted_iou"] for r in records], np.float32),
            "stability": np.array([r["stability_score"] for r in records], np.float32),
            "boxes": np.array([[x, y, x + w, y + h] for x, y, w, h in (r["bbox"] for r in records)], np.float32),
            "iou": np.array([iou(truth, r["segmentation"], ignore) for r in records], np.float32),
        })
    return images


def score(images: list[dict], iou_thresh: float, stability_thresh: float) -> tuple[float, float]:
    """(recall, masks per image) when keeping masks with predicted IoU > iou_thresh (0: off)
    and stability >= stability_thresh (0: off), then box NMS."""
    from masklet.predict.automatic_ops import nms

    best, kept_counts = [], []
    for image in images:
        keep = np.ones(len(image["iou"]), bool)
        if iou_thresh > 0:
            keep &= image["predicted_iou"] > iou_thresh
        if stability_thresh > 0:
            keep &= image["stability"] >= stability_thresh
        index = np.flatnonzero(keep)
        if len(index):
            kept = nms(torch.from_numpy(image["boxes"][index]), torch.from_numpy(image["predicted_iou"][index]), BOX_NMS)
            index = index[kept.numpy()]
        best.append(float(image["iou"][index].max()) if len(index) else 0.0)
        kept_counts.append(len(index))
    return float(np.mean(best)), float(np.mean(kept_counts))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import masklet

    torch.set_num_threads(args.threads)
    model = masklet.load_model(args.model)
    report: dict = {"model": args.model, "data": args.data, "points_per_side": args.points_per_side,
                    "rule": f"fewest masks with recall >= {RECALL_KEPT} x unfiltered", "offsets": {}}
    choices = []
    for offset in OFFSETS:
        images = candidates(model, args.data, args.points_per_side, offset, args.limit)
        unfiltered, _ = score(images, 0.0, 0.0)
        table = [{"pred_iou_thresh": t, "stability_score_thresh": s, **dict(zip(("recall", "masks"), score(images, t, s)))}
                 for t in IOU_GRID for s in STABILITY_GRID]
        good = [row for row in table if row["recall"] >= RECALL_KEPT * unfiltered]
        chosen = min(good, key=lambda r: (r["masks"], -r["pred_iou_thresh"], -r["stability_score_thresh"]))
        choices.append({**chosen, "stability_score_offset": offset})
        report["offsets"][str(offset)] = {"unfiltered_recall": unfiltered, "chosen": chosen, "table": table}
        print(f"offset {offset}: unfiltered recall {unfiltered:.3f}; chosen {chosen}")
    report["chosen"] = min(choices, key=lambda r: r["masks"])
    print("chosen:", report["chosen"])
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
