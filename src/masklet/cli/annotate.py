"""`masklet annotate`: masks for detected objects of images and videos (auto-annotation)."""

from __future__ import annotations

import argparse
import functools

from masklet.cli.common import add_model_options
from masklet.cli.dataset_runs import ENGINE_HELP, add_run_options, run_dataset_command
from masklet.cli.errors import CliError


def register(subparsers) -> None:
    from masklet.autolabel.box_files import BOX_FORMATS
    from masklet.autolabel.detectors import DEFAULT_KEYFRAME_EVERY
    from masklet.autolabel.inputs import DEFAULT_SHARD_SIZE, KINDS
    from masklet.autolabel.outputs import IMAGE_FORMATS, VIDEO_FORMATS

    formats = {**IMAGE_FORMATS, **VIDEO_FORMATS}
    parser = subparsers.add_parser(
        "annotate", help="masks for detected objects of images or videos (auto-annotation)",
        description="Turn boxes into masks: each box prompts SAM 2 for its object's mask. Boxes come from a file "
        "(--boxes: COCO detection JSON, a folder of YOLO detection .txt files, or a CSV image,x1,y1,x2,y2,category"
        "[,score]) or from an Ultralytics detector (--detector yolo11n.pt, needs the ultralytics package). "
        "In videos the boxes of keyframes prompt the tracker; objects are matched across keyframes by mask IoU, "
        "new ones are added and lost ones ended. Boxes name their images by file stem, video frames as "
        "<video>/<frame, 5 digits>. Formats: " + "; ".join(f"{k}: {v}" for k, v in formats.items())
        + ". " + ENGINE_HELP,
        epilog="example: masklet annotate images/ --boxes detections.json --format yolo --workers 2",
    )
    parser.add_argument("source", metavar="SOURCE",
                        help="an image, a folder or .txt list of images, a video, a frame folder, or a folder of videos")
    boxes = parser.add_argument_group("boxes (one of --boxes, --detector)")
    boxes.add_argument("--boxes", metavar="FILE|DIR", help="box file (.json COCO, .csv) or folder of YOLO .txt files")
    boxes.add_argument("--box-format", choices=BOX_FORMATS, help="format of --boxes (default: from its name)")
    boxes.add_argument("--detector", metavar="WEIGHTS", help="an Ultralytics detection model file, e.g. yolo11n.pt")
    boxes.add_argument("--keyframe-every", type=int, default=DEFAULT_KEYFRAME_EVERY, metavar="N",
                       help=f"--detector: detect on every N-th video frame (default: {DEFAULT_KEYFRAME_EVERY}); "
                            "with --boxes the keyframes are the frames that have boxes")
    boxes.add_argument("--conf", type=float, default=0.25, metavar="T", help="--detector: minimum box score (default: 0.25)")
    parser.add_argument("--kind", choices=KINDS, default="auto", help="what SOURCE holds (default: auto)")
    parser.add_argument("--output", metavar="DIR",
                        help="output folder (default: SOURCE_auto_annotate_labels beside SOURCE, as Ultralytics)")
    parser.add_argument("--format", choices=formats, help="output format (default: yolo for images, sav for videos)")
    parser.add_argument("--sav-every", type=int, default=1, metavar="N",
                        help="--format sav: keep every N-th frame (SA-V's own files: 4) (default: 1, every frame)")
    parser.add_argument("--shard-size", type=int, default=DEFAULT_SHARD_SIZE, metavar="N",
                        help=f"images per work item (default: {DEFAULT_SHARD_SIZE})")
    parser.add_argument("--match-iou", type=float, default=0.5, metavar="T",
                        help="videos: a keyframe box continues a tracked object at mask IoU >= T (default: 0.5)")
    add_run_options(parser)
    add_model_options(parser)
    parser.set_defaults(func=run_annotate)


def run_annotate(args: argparse.Namespace) -> int:
    from masklet.autolabel import UltralyticsDetector, annotate

    if (args.boxes is None) == (args.detector is None):
        raise CliError("give --boxes FILE|DIR or --detector WEIGHTS (one of them)")
    detector = None
    if args.detector:
        try:
            detector = UltralyticsDetector(args.detector, every=args.keyframe_every, conf=args.conf)
            detector.categories  # noqa: B018  (loads it here, so a missing package or file fails before any work
        except (ImportError, ValueError, OSError) as e:
            raise CliError(str(e).splitlines()[0]) from None
    run = functools.partial(
        annotate, args.source, args.boxes, detector=detector, box_format=args.box_format, output=args.output,
        output_format=args.format, kind=args.kind, shard_size=args.shard_size, match_iou=args.match_iou,
        sav_every=args.sav_every,
    )
    return run_dataset_command(args, "annotated", run)
