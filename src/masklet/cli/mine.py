"""`masklet mine`: SA-V style automatic masklets of videos with no input."""

from __future__ import annotations

import argparse
import functools

from masklet.cli.common import add_model_options
from masklet.cli.dataset_runs import ENGINE_HELP, add_run_options, run_dataset_command
from masklet.cli.errors import CliError


def register(subparsers) -> None:
    from masklet.autolabel.options import MineOptions

    defaults = MineOptions()
    parser = subparsers.add_parser(
        "mine", help="automatic masklets of videos (SA-V *_auto.json)",
        description="Find masklets in videos with no input, as SA-V's automatic masklets were made: segment "
        "everything on keyframes, track each new mask forwards and backwards through the video, drop unstable "
        "masklets and those repeating another (IoU over all frames). Writes OUTPUT/<video>_auto.json (SA-V) or "
        "DAVIS PNGs. The small bundled model scores its own masks low: with it use --pred-iou-thresh 0 "
        "--stability-score-thresh 0 --min-mean-stability 0. " + ENGINE_HELP,
        epilog="example: masklet mine videos/ --output auto/ --engine ray --workers 2",
    )
    parser.add_argument("source", metavar="VIDEOS", help="a video, a frame folder, or a folder of videos")
    parser.add_argument("--output", required=True, metavar="DIR", help="output folder")
    parser.add_argument("--format", choices=("sav", "davis"), default="sav", help="output format (default: sav)")
    parser.add_argument("--sav-every", type=int, default=1, metavar="N",
                        help="--format sav: keep every N-th frame (SA-V's own files: 4) (default: 1, every frame)")
    mining = parser.add_argument_group("mining")
    mining.add_argument("--keyframe-every", type=int, default=defaults.keyframe_every, metavar="N",
                        help=f"segment everything on every N-th frame (default: {defaults.keyframe_every})")
    mining.add_argument("--points-per-side", type=int, default=defaults.points_per_side, metavar="N",
                        help=f"N x N prompt points per keyframe (default: {defaults.points_per_side})")
    mining.add_argument("--pred-iou-thresh", type=float, default=defaults.pred_iou_thresh, metavar="T",
                        help=f"keyframe masks: minimum predicted IoU (default: {defaults.pred_iou_thresh})")
    mining.add_argument("--stability-score-thresh", type=float, default=defaults.stability_score_thresh, metavar="T",
                        help=f"keyframe masks: minimum stability score (default: {defaults.stability_score_thresh})")
    mining.add_argument("--min-area", type=float, default=defaults.min_area, metavar="F",
                        help=f"keyframe masks: minimum fraction of the frame (default: {defaults.min_area})")
    mining.add_argument("--max-area", type=float, default=defaults.max_area, metavar="F",
                        help=f"keyframe masks: maximum fraction of the frame (default: {defaults.max_area})")
    mining.add_argument("--min-mean-stability", type=float, default=defaults.min_mean_stability, metavar="T",
                        help="masklets: minimum stability score averaged over their frames "
                             f"(default: {defaults.min_mean_stability})")
    mining.add_argument("--dedup-iou", type=float, default=defaults.dedup_iou, metavar="T",
                        help=f"masklets overlapping this much over all frames are one (default: {defaults.dedup_iou})")
    add_run_options(parser)
    add_model_options(parser)
    parser.set_defaults(func=run_mine)


def run_mine(args: argparse.Namespace) -> int:
    from masklet.autolabel import MineOptions, mine

    try:
        options = MineOptions(
            keyframe_every=args.keyframe_every, points_per_side=args.points_per_side,
            pred_iou_thresh=args.pred_iou_thresh, stability_score_thresh=args.stability_score_thresh,
            min_area=args.min_area, max_area=args.max_area, min_mean_stability=args.min_mean_stability,
            dedup_iou=args.dedup_iou,
        )
    except ValueError as e:
        raise CliError(str(e)) from None
    run = functools.partial(mine, args.source, output=args.output, output_format=args.format, options=options,
                            sav_every=args.sav_every)
    return run_dataset_command(args, "mined", run)
