"""`masklet eval ...`: score predictions, or run a model over a benchmark and score it."""

from __future__ import annotations

import argparse
import time

from masklet.cli.common import (
    add_model_options,
    check_output_location,
    embedded_model_path,
    resolve_model,
)
from masklet.cli.errors import CliError


def register(subparsers) -> None:
    evaluate = subparsers.add_parser("eval", help="evaluate predictions against ground truth")
    eval_sub = evaluate.add_subparsers(dest="eval_command", metavar="KIND", required=True)
    _register_vos(eval_sub)
    _register_run_vos(eval_sub)
    _register_ap(eval_sub)
    _register_interactive(eval_sub)
    _register_interactive_video(eval_sub)


def _register_vos(eval_sub) -> None:
    vos = eval_sub.add_parser(
        "vos", help="score video object segmentation (J, F, J&F as the DAVIS evaluator)",
        description="Score a prediction folder against ground truth in the same layout. "
        "First and last frames are not scored (semi-supervised protocol).",
    )
    vos.add_argument("--gt", required=True, help="ground-truth folder with one sub-folder per sequence")
    vos.add_argument("--pred", required=True, help="prediction folder with the same layout")
    vos.add_argument("--format", choices=["davis", "sav", "sav-json"], default="davis",
                     help="davis: <seq>/<frame>.png with object ids; sav: <video>/<object>/<frame>.png; "
                     "sav-json: --gt holds SA-V <video>_manual.json files, --pred the sav layout (default: davis)")
    vos.add_argument("--sequences", nargs="+", help="score only these sequences")
    vos.add_argument("--output", help="write results JSON here (and a CSV beside it)")
    vos.add_argument("--workers", type=int, default=None, help="processes (default: one per core)")
    vos.set_defaults(func=run_vos)


def _register_run_vos(eval_sub) -> None:
    run = eval_sub.add_parser(
        "run-vos", help="run a model over a VOS dataset (DAVIS / YouTube-VOS layout) and score it",
        description="Prompt each object with its first annotated mask, track it forward, write DAVIS "
        "palette PNGs to OUTPUT/<seq>/<frame>.png and score them into OUTPUT/results.json.",
    )
    run.add_argument("--dataset", required=True,
                     help="folder with JPEGImages/480p/<seq>/ and Annotations/480p/<seq>/ (DAVIS) "
                     "or JPEGImages/<video>/ and Annotations/<video>/ (YouTube-VOS)")
    run.add_argument("--output", required=True, help="folder for the prediction PNGs and results.json")
    run.add_argument("--sequences", nargs="+", help="run only these sequences")
    run.add_argument("--max-frames", type=int, help="use only the first N frames of each video")
    run.add_argument("--later-objects", action="store_true",
                     help="also prompt objects first annotated on a later frame, on that frame (YouTube-VOS)")
    add_model_options(run)
    run.add_argument("--workers", type=int, default=None, help="scoring processes (default: one per core)")
    run.set_defaults(func=run_run_vos)


def _register_ap(eval_sub) -> None:
    ap = eval_sub.add_parser(
        "ap", help="class-agnostic mask AP / AR of automatic mask generation (COCO protocol)",
        description="Generate masks for each image with a model and score them against its ground-truth "
        "PNG (GT/<image stem>.png; each non-zero value one instance) with pycocotools.",
    )
    ap.add_argument("--images", required=True, help="folder of images (.jpg, .png)")
    ap.add_argument("--gt", required=True, help="folder of ground-truth PNGs named like the images")
    ap.add_argument("--limit", type=int, help="use only the first N images (in name order)")
    ap.add_argument("--points-per-side", type=int, default=32, help="point grid of the generator (default: 32)")
    ap.add_argument("--points-per-batch", type=int, default=64, help="points decoded together (default: 64)")
    ap.add_argument("--pred-iou-thresh", type=float,
                    help="keep masks above this predicted IoU (default: the model's own; 0.8 for official checkpoints)")
    ap.add_argument("--stability-score-thresh", type=float,
                    help="keep masks with at least this stability score (default: the model's own; 0.95 for "
                    "official checkpoints)")
    ap.add_argument("--output", help="write the figures as JSON here")
    add_model_options(ap)
    ap.set_defaults(func=run_ap)


def _register_interactive(eval_sub) -> None:
    interactive = eval_sub.add_parser(
        "interactive", help="click-based image segmentation: mIoU@1/5 and NoC@85/90 with simulated clicks",
        description="Simulate a user who clicks at the centre of the largest error region, up to --max-clicks "
        "times per image, and score the masks: mean IoU after 1 and 5 clicks, and NoC@85 / NoC@90 (clicks "
        "needed to reach that IoU; --max-clicks when never reached).",
    )
    interactive.add_argument("--data", required=True,
                             help="folder with data_GT/ + boundary_GT/ (GrabCut, 128 = ignore band) "
                             "or img/ + gt/ (COCO_MVal style, 0/255 masks)")
    interactive.add_argument("--max-clicks", type=_positive_int, default=20, help="clicks per image (default: 20)")
    interactive.add_argument("--limit", type=_positive_int, help="use only the first N images (in name order)")
    interactive.add_argument("--output", help="write the summary and per-image IoUs as JSON here")
    add_model_options(interactive)
    interactive.set_defaults(func=run_interactive_clicks)


def _register_interactive_video(eval_sub) -> None:
    from masklet.eval.interactive_video.annotator import FirstPrompt, PromptFrame
    from masklet.eval.interactive_video.methods import METHODS

    video = eval_sub.add_parser(
        "interactive-video", help="interactive video segmentation: J&F after each simulated interaction (SAM 2 protocol)",
        description="A simulated annotator prompts each object on one frame (1, 3 or 5 clicks, its box or its true "
        "mask), the video is propagated, then each further interaction is one correction click on the frame with "
        "the lowest J&F (at the deepest point of its largest error, as `eval interactive`; a frame where the last "
        "click changed nothing is skipped until its mask changes), followed by propagation again. "
        "Reports the video's J&F after each interaction (curve), the normalised area under it "
        "(AUC: trapezoid over interactions 1..N divided by N-1) and the interactions needed to reach --target "
        "(N+1 counted when never reached). Methods: video (the video predictor, corrections through its memory), "
        "image-per-frame (the image predictor on each frame alone) and image-then-propagate (image-predictor "
        "masks propagated by the video predictor). Writes OUTPUT/results.json, summary.md and curves.png.",
    )
    video.add_argument("dataset", metavar="DATASET",
                       help="a VOS dataset (JPEGImages/480p + Annotations/480p, or JPEGImages + Annotations) or an "
                       "image folder (data_GT/ + boundary_GT/, or img/ + gt/) whose images are one-frame videos")
    video.add_argument("--first-prompt", choices=[p.value for p in FirstPrompt], default="clicks1",
                       help="interaction 1 (default: clicks1)")
    video.add_argument("--prompt-frame", choices=[p.value for p in PromptFrame], default="first",
                       help="where interaction 1 goes: the first frame the object is visible on, or the one where it "
                       "is largest (default: first)")
    video.add_argument("--max-interactions", type=_positive_int, default=8, help="interactions per object (default: 8)")
    video.add_argument("--target", type=_fraction, default=0.8, help="J&F to reach, a fraction (default: 0.8)")
    video.add_argument("--methods", nargs="+", choices=sorted(METHODS), default=["video"],
                       help="what the annotator drives (default: video); ratios to video are reported for the others")
    video.add_argument("--per-frame-max-interactions", type=_positive_int, metavar="N",
                       help="budget of image-per-frame, which needs a click on every frame (default: --max-interactions)")
    video.add_argument("--sequences", nargs="+", help="only these sequences (or image names)")
    video.add_argument("--max-frames", type=_positive_int, help="only the first N frames of each video")
    video.add_argument("--limit", type=_positive_int, help="only the first N videos (in name order)")
    video.add_argument("--threads", type=_positive_int, help="torch CPU threads (default: torch's)")
    video.add_argument("--output", required=True, help="folder for results.json, summary.md and curves.png")
    add_model_options(video)
    video.set_defaults(func=run_interactive_video)


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be a fraction in (0, 1] (J&F 80 is 0.8), got {value}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def run_vos(args: argparse.Namespace) -> int:
    from masklet.eval.vos import evaluate_vos, write_results

    start = time.perf_counter()
    try:
        results = evaluate_vos(args.gt, args.pred, args.sequences, workers=args.workers, format=args.format)
    except ValueError as e:
        raise CliError(str(e)) from None
    print_results(results)
    print(f"({time.perf_counter() - start:.1f}s)")
    if args.output:
        try:
            json_path, csv_path = write_results(results, args.output)
        except OSError as e:
            raise CliError(f"cannot write {args.output}: {e}") from None
        print(f"wrote {json_path} and {csv_path}")
    return 0


def run_run_vos(args: argparse.Namespace) -> int:
    from masklet.eval.run_vos import run_vos_benchmark
    from masklet.io.vos_dataset import open_vos_dataset

    try:
        open_vos_dataset(args.dataset)
    except ValueError as e:
        raise CliError(str(e)) from None
    model = resolve_model(args)
    try:
        run = run_vos_benchmark(model, args.dataset, args.output, args.sequences, max_frames=args.max_frames,
                                later_objects=args.later_objects, workers=args.workers)
    except (ValueError, OSError) as e:
        raise CliError(str(e)) from None
    print_results(run.results)
    print(f"{run.frames} frames in {run.seconds:.1f}s: {run.frames_per_second:.2f} frames/s")
    print(f"wrote predictions and results.json to {args.output}")
    return 0


def run_ap(args: argparse.Namespace) -> int:
    import json

    from masklet.eval.mask_ap import image_mask_pairs, run_mask_ap
    from masklet.io.atomic import write_text_atomic
    from masklet.predict.automatic import MaskGenerator

    if args.output:
        check_output_location(args.output)
    try:
        image_mask_pairs(args.images, args.gt, args.limit)
        generator = MaskGenerator(
            resolve_model(args), points_per_side=args.points_per_side,
            points_per_batch=args.points_per_batch, pred_iou_thresh=args.pred_iou_thresh,
            stability_score_thresh=args.stability_score_thresh,
        )
        start = time.perf_counter()
        results = run_mask_ap(generator, args.images, args.gt, args.limit)
    except (ValueError, ImportError, OSError) as e:
        raise CliError(str(e)) from None
    seconds = time.perf_counter() - start
    print("  ".join(f"{name} {'-' if value is None else f'{value:.4f}'}" for name, value in results.items()
                    if name != "images"))
    print(f"{results['images']} images in {seconds:.1f}s")
    if args.output:
        print(f"wrote {write_text_atomic(args.output, json.dumps(results, indent=2))}")
    return 0


def run_interactive_clicks(args: argparse.Namespace) -> int:
    import json

    from masklet.eval.interactive import (
        PredictorClicker,
        image_mask_folders,
        run_interactive,
    )
    from masklet.io.atomic import write_text_atomic
    from masklet.predict.image import ImagePredictor

    try:
        image_mask_folders(args.data)
    except ValueError as e:
        raise CliError(str(e)) from None
    if args.output:
        check_output_location(args.output)
    clicker = PredictorClicker(ImagePredictor(resolve_model(args)))
    start = time.perf_counter()
    try:
        results = run_interactive(clicker, args.data, max_clicks=args.max_clicks, limit=args.limit)
    except (ValueError, OSError) as e:
        raise CliError(str(e)) from None
    seconds = time.perf_counter() - start
    summary = results["summary"]
    print("  ".join(f"{name} {value:.4f}" for name, value in summary.items() if name != "images"))
    print(f"{summary['images']} images, {args.max_clicks} clicks each, in {seconds:.1f}s")
    if args.output:
        report = {"data": str(args.data), "model": str(args.model or embedded_model_path()),
                  "max_clicks": args.max_clicks, "seconds": seconds, **results}
        print(f"wrote {write_text_atomic(args.output, json.dumps(report, indent=2))}")
    return 0


def run_interactive_video(args: argparse.Namespace) -> int:
    import torch

    from masklet.eval.interactive_video import (
        ProtocolSettings,
        build_segmenters,
        run_interactive_video,
        write_outputs,
    )
    from masklet.eval.interactive_video.data import check_dataset

    if args.per_frame_max_interactions is not None and args.per_frame_max_interactions < args.max_interactions:
        raise CliError(f"--per-frame-max-interactions {args.per_frame_max_interactions} is below --max-interactions "
                       f"{args.max_interactions}; give at least as many")
    try:
        check_dataset(args.dataset)
    except ValueError as e:
        raise CliError(str(e)) from None
    check_output_location(args.output, is_folder=True)
    if args.threads:
        torch.set_num_threads(args.threads)
    settings = ProtocolSettings(args.first_prompt, args.prompt_frame, args.max_interactions)
    budgets = {"image-per-frame": args.per_frame_max_interactions or args.max_interactions}
    segmenters = build_segmenters(resolve_model(args), args.methods)
    start = time.perf_counter()
    try:
        report = run_interactive_video(segmenters, args.dataset, settings, args.target, budgets, args.sequences,
                                       args.max_frames, args.limit)
        written = write_outputs(report, args.output)
    except (ValueError, OSError) as e:
        raise CliError(str(e)) from None
    print(report.markdown())
    print(f"{len(report.videos())} videos in {time.perf_counter() - start:.1f}s; wrote {', '.join(map(str, written))}")
    if not any(p.suffix == ".png" for p in written):
        print("no curves.png: matplotlib is not installed (pip install 'masklet[plot]')")
    return 0


def print_results(results: dict) -> None:
    """The per-sequence J / F table and the global J, F and J&F."""
    print(f"{'sequence':<24}{'J':>8}{'J-rec':>8}{'J-dec':>8}{'F':>8}{'F-rec':>8}{'F-dec':>8}")
    for name, r in results["sequences"].items():
        cells = "".join(f"{r[m][s]:>8.4f}" for m in ("J", "F") for s in ("mean", "recall", "decay"))
        print(f"{name:<24}{cells}")
    g = results["global"]
    print(f"global  J {g['J']:.4f}  F {g['F']:.4f}  J&F {g['J&F']:.4f}")
