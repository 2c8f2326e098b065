"""`masklet segment`: one object's mask in an image from clicks and/or a box."""

from __future__ import annotations

import argparse
import contextlib
import json
from pathlib import Path

import numpy as np
from PIL import Image

from masklet.cli.common import (
    add_model_options,
    check_clicks,
    check_output_location,
    read_image,
    resolve_model,
)
from masklet.cli.errors import CliError
from masklet.cli.prompts import BOX_FORMAT, POINT_FORMAT, parse_box, parse_point


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "segment", help="segment one object in an image from clicks and/or a box",
        description="Segment one object in IMAGE. Writes the mask as a black/white PNG (--output), a JSON "
        "beside it with the same name (the candidate masks' scores, areas, boxes and COCO RLE, best first) "
        "and optionally the mask drawn on the image (--overlay). With a single click SAM 2 proposes three "
        "masks and the best-scored one is written.",
        epilog="example: masklet segment photo.jpg --point 320,240 --point 100,80:0 --output mask.png",
    )
    parser.add_argument("image", metavar="IMAGE", help="image file (JPEG, PNG, ...)")
    parser.add_argument("--point", type=parse_point, action="append", default=[], metavar="X,Y[:LABEL]",
                        help=f"a click in pixels, repeatable: {POINT_FORMAT}")
    parser.add_argument("--box", type=parse_box, metavar=BOX_FORMAT, help="a box around the object, in pixels")
    parser.add_argument("--output", required=True, metavar="MASK.png", help="where to write the mask PNG")
    parser.add_argument("--overlay", metavar="OVERLAY.png", help="also write the mask drawn on the image here")
    add_model_options(parser, backends=True)
    parser.set_defaults(func=run_segment)


def run_segment(args: argparse.Namespace) -> int:
    from masklet import ImagePredictor
    from masklet.io.atomic import atomic_output
    from masklet.io.coco import mask_bbox
    from masklet.io.overlay import overlay_masks
    from masklet.io.rle import rle_encode

    if not args.point and args.box is None:
        raise CliError("give at least one --point X,Y or a --box X1,Y1,X2,Y2")
    mask_path = Path(args.output)
    if mask_path.suffix.lower() != ".png":
        raise CliError(f"--output {mask_path} must be a .png file (the scores go beside it as .json)")
    image = read_image(args.image)
    height, width = image.shape[:2]
    check_clicks([p[:2] for p in args.point], [p[2] for p in args.point], args.box, width, height)
    for path in (mask_path, args.overlay):
        if path:
            check_output_location(path)
    model = resolve_model(args)

    predictor = ImagePredictor(model)
    predictor.set_image(image)
    multimask = len(args.point) == 1 and args.box is None
    masks, scores, _ = predictor.predict(
        point_coords=np.array([p[:2] for p in args.point], np.float32) if args.point else None,
        point_labels=np.array([p[2] for p in args.point], np.int32) if args.point else None,
        box=np.array(args.box, np.float32) if args.box is not None else None,
        multimask_output=multimask,
    )
    order = np.argsort(-scores, kind="stable")
    best = masks[order[0]].astype(bool)
    report = {
        "image": str(args.image),
        "width": width,
        "height": height,
        "prompts": {"points": [list(p[:2]) for p in args.point], "labels": [p[2] for p in args.point],
                    "box": list(args.box) if args.box is not None else None},
        "masks": [
            {"score": float(scores[i]), "area": int(masks[i].sum()), "bbox": mask_bbox(masks[i].astype(bool)),
             "segmentation": rle_encode(masks[i].astype(bool))}
            for i in order
        ],
    }
    json_path = mask_path.with_suffix(".json")
    with contextlib.ExitStack() as outputs:  # all files are renamed into place together at the end
        png_tmp = outputs.enter_context(atomic_output(mask_path))
        json_tmp = outputs.enter_context(atomic_output(json_path))
        Image.fromarray(best.astype(np.uint8) * 255).save(png_tmp, format="PNG")
        json_tmp.write_text(json.dumps(report, indent=1), encoding="utf-8")
        if args.overlay:
            overlay_tmp = outputs.enter_context(atomic_output(args.overlay))
            Image.fromarray(overlay_masks(image, best[None], [1])).save(overlay_tmp, format="PNG")
    print(f"wrote {mask_path} (score {scores[order[0]]:.3f}, {int(best.sum())} pixels) and {json_path}"
          + (f" and {args.overlay}" if args.overlay else ""))
    return 0
