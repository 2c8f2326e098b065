"""What each of a model's mask outputs gives on an image+mask folder, to see why clicks fail.

    .venv/bin/python benchmarks/mask_tokens.py --model PATH [--model PATH ...]
        [--data ../shared/data/interactive/GrabCut] [--include 'person*'] [--every N] [--output X.json]

Per model and image, with the annotated object as the target:
  box      a tight box around the object, one mask asked for (`multimask_output=False`): the
           single-mask output, as every click after the first gets it. "empty" counts images
           where that mask has no pixel.
  click    the interactive benchmark's first click (`next_click` on an empty prediction), the
           three multimask outputs: the IoU of each, of the one the predicted IoU picks (what
           the benchmark's mIoU@1 scores) and of the best one (an oracle).
and the chosen mask's IoU after one click by the object's share of the image (buckets
SIZE_BUCKETS), since a model can fail on large objects and not on small ones or the reverse.
`--include` keeps images whose file stem matches a shell pattern (e.g. COCO_MVal's `person*`),
`--every N` every Nth image after that. Figures x100 in the table.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

REPO = Path(__file__).resolve().parents[1]
SIZE_BUCKETS = ((0.0, 0.02), (0.02, 0.08), (0.08, 0.2), (0.2, 1.0))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", help="model name or checkpoint; repeat to compare (default: masklet-nano)")
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "interactive" / "GrabCut"),
                        help="image+mask folder (GrabCut or COCO_MVal layout; default: ../shared's GrabCut)")
    parser.add_argument("--include", help="only images whose file stem matches this shell pattern")
    parser.add_argument("--every", type=int, default=1, help="every Nth image (after --include; default: 1)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default: 2)")
    parser.add_argument("--output", help="write the report as JSON here")
    args = parser.parse_args(argv)
    if args.every < 1:
        parser.error(f"--every must be at least 1, got {args.every}")
    return args


def selected_images(data: str, include: str | None, every: int) -> list:
    """(name, image, truth, ignore) of the chosen images; only those are decoded."""
    from masklet.eval.interactive import image_mask_folders, image_paths, read_image_mask

    _, masks = image_mask_folders(data)
    paths = [p for p in image_paths(data) if include is None or fnmatch.fnmatchcase(p.stem, include)][::every]
    if not paths:
        raise SystemExit(f"{data}: no image matches --include {include!r}")
    return [read_image_mask(path, masks) for path in paths]


def measure(model_name: str, images: list) -> dict:
    """Per-image records and the summary of one model."""
    import masklet
    from masklet.eval.interactive import iou, next_click

    predictor = masklet.ImagePredictor(masklet.load_model(model_name, dtype="float32"))
    rows = []
    for name, image, truth, ignore in tqdm(images, desc=str(model_name), unit="img"):
        predictor.set_image(image)
        ys, xs = np.nonzero(truth)
        box = np.array([xs.min(), ys.min(), xs.max(), ys.max()], np.float32)
        box_mask, _, _ = predictor.predict(box=box, multimask_output=False)
        click = next_click(truth, np.zeros_like(truth), ignore)
        masks, scores, _ = predictor.predict(point_coords=np.array([[click.x, click.y]], np.float32),
                                             point_labels=np.array([1]), multimask_output=True)
        token_ious = [iou(truth, m, ignore) for m in masks]
        rows.append({"name": name, "area": float(truth.mean()), "box_iou": iou(truth, box_mask[0], ignore),
                     "box_empty": not box_mask[0].any(), "click_token_ious": token_ious,
                     "click_chosen_iou": token_ious[int(np.argmax(scores))]})
    return {"images": rows, "summary": summarize(rows)}


def summarize(rows: list[dict]) -> dict:
    tokens = np.array([r["click_token_ious"] for r in rows])  # [images, 3]
    area = np.array([r["area"] for r in rows])
    chosen = np.array([r["click_chosen_iou"] for r in rows])
    by_size = {}
    for low, high in SIZE_BUCKETS:
        inside = (area >= low) & (area < high)
        by_size[f"{low}-{high}"] = {"images": int(inside.sum()),
                                    "click_chosen_miou": float(chosen[inside].mean()) if inside.any() else None}
    return {
        "images": len(rows),
        "box_miou": float(np.mean([r["box_iou"] for r in rows])),
        "box_empty": int(sum(r["box_empty"] for r in rows)),
        "click_token_miou": tokens.mean(0).tolist(),
        "click_chosen_miou": float(chosen.mean()),
        "click_oracle_miou": float(tokens.max(1).mean()),
        "click_failures": int((chosen < 0.05).sum()),
        "by_size": by_size,
    }


def markdown(report: dict) -> str:
    sizes = [key for key, _ in next(iter(report["models"].values()))["summary"]["by_size"].items()]
    head = ["model", "images", "box mIoU", "box empty", "click tokens 1 / 2 / 3", "click chosen", "oracle",
            "IoU < 5", *(f"area {s}" for s in sizes)]
    lines = ["| " + " | ".join(head) + " |", "| --- " * len(head) + "|"]
    for model, result in report["models"].items():
        s = result["summary"]
        cells = [model, str(s["images"]), f"{100 * s['box_miou']:.1f}", str(s["box_empty"]),
                 " / ".join(f"{100 * t:.1f}" for t in s["click_token_miou"]), f"{100 * s['click_chosen_miou']:.1f}",
                 f"{100 * s['click_oracle_miou']:.1f}", str(s["click_failures"])]
        for size in sizes:
            bucket = s["by_size"][size]
            value = "-" if bucket["click_chosen_miou"] is None else f"{100 * bucket['click_chosen_miou']:.1f}"
            cells.append(f"{value} ({bucket['images']})")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    images = selected_images(args.data, args.include, args.every)
    report = {"data": args.data, "include": args.include, "every": args.every,
              "models": {str(m): measure(m, images) for m in args.model or ["masklet-nano"]}}
    report["markdown"] = markdown(report)
    print(report["markdown"])
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
