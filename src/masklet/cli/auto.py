"""`masklet auto`: masks of everything in an image or a folder of images."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from masklet.cli.common import (
    add_model_options,
    check_output_location,
    read_image,
    resolve_model,
    staged_folder,
)
from masklet.cli.errors import CliError
from masklet.io.image import IMAGE_SUFFIXES, image_files

FORMATS = {
    "coco": "one COCO JSON file for all images (RLE masks, scores = predicted IoU); --output is the .json file",
    "png": "a folder per image with one black/white PNG per mask, largest first; --output is the folder",
    "yolo": "a YOLO segmentation label file per image plus classes.txt (one class, 'object'); --output is the folder",
}
CLASS_NAME = "object"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "auto", help="segment everything in an image or a folder of images",
        description="Find every object in IMAGE, or in each image of a folder, by prompting SAM 2 with a grid "
        "of points. Formats: " + "; ".join(f"{k}: {v}" for k, v in FORMATS.items()) + ".",
        epilog="example: masklet auto photos/ --format coco --output photos.json",
    )
    parser.add_argument("source", metavar="IMAGE|DIR", help="an image file, or a folder of images")
    parser.add_argument("--output", required=True, help="output file (coco) or folder (png, yolo)")
    parser.add_argument("--format", choices=FORMATS, default="coco", help="output format (default: coco)")
    parser.add_argument("--points-per-side", type=int, default=32, metavar="N",
                        help="grid of N x N prompt points (default: 32; fewer is faster)")
    parser.add_argument("--pred-iou-thresh", type=float, metavar="T",
                        help="keep masks whose predicted IoU is above T (default: the model's own; 0.8 for "
                        "official checkpoints, see masklet.predict.automatic.MODEL_THRESHOLDS)")
    parser.add_argument("--stability-score-thresh", type=float, metavar="T",
                        help="keep masks whose stability score is at least T (default: the model's own; 0.95 "
                        "for official checkpoints)")
    parser.add_argument("--min-mask-region-area", type=int, default=0, metavar="PIXELS",
                        help="remove holes and specks smaller than this (default: 0, off)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_model_options(parser)
    parser.set_defaults(func=run_auto)


def source_images(source: Path) -> list[Path]:
    """The image itself, or the images in a folder in natural order."""
    if source.is_dir():
        files = image_files(source)
        if not files:
            raise CliError(f"folder {source} has no images (looked for {' '.join(sorted(IMAGE_SUFFIXES))})")
        return files
    if not source.exists():
        raise CliError(f"{source}: no such image file or folder")
    return [source]


def run_auto(args: argparse.Namespace) -> int:
    from masklet import MaskGenerator

    if args.points_per_side < 1:
        raise CliError(f"--points-per-side must be >= 1, got {args.points_per_side}")
    files = source_images(Path(args.source))
    check_output_location(args.output, is_folder=args.format != "coco")
    model = resolve_model(args)
    generator = MaskGenerator(
        model, points_per_side=args.points_per_side, pred_iou_thresh=args.pred_iou_thresh,
        stability_score_thresh=args.stability_score_thresh, min_mask_region_area=args.min_mask_region_area,
    )
    results = []
    for path in tqdm(files, desc="segment everything", unit="image", disable=args.no_progress):
        image = read_image(path)
        records = sorted(generator.generate(image), key=lambda r: -r["area"])
        results.append((path, image.shape[:2], records))
    write_results(args.format, Path(args.output), results)
    total = sum(len(records) for _, _, records in results)
    print(f"wrote {total} masks of {len(results)} image(s) to {args.output}")
    return 0


def write_results(form: str, output: Path, results: list) -> None:
    """Write [(image path, (height, width), mask records largest first)] in format `form`."""
    from masklet.io import (
        CocoImage,
        CocoInstance,
        write_coco_json,
        write_yolo_classes,
        write_yolo_labels,
    )

    if form == "coco":
        images = [
            CocoImage(path.name, height, width,
                      [CocoInstance(r["segmentation"], 1, r["predicted_iou"]) for r in records])
            for path, (height, width), records in results
        ]
        write_coco_json(output, images, {1: CLASS_NAME})
        return
    if len({path.stem for path, _, _ in results}) != len(results):
        raise CliError("two images in the folder share a name stem; --format png and yolo name outputs by stem")
    with staged_folder(output) as folder:
        for path, (height, width), records in results:
            masks = np.array([r["segmentation"] for r in records], bool).reshape(-1, height, width)
            if form == "yolo":
                write_yolo_labels(folder / f"{path.stem}.txt", masks, [0] * len(masks))
            else:
                (folder / path.stem).mkdir()
                for number, mask in enumerate(masks):
                    Image.fromarray(mask.astype(np.uint8) * 255).save(folder / path.stem / f"{number:03d}.png")
        if form == "yolo":
            write_yolo_classes(folder / "classes.txt", [CLASS_NAME])
