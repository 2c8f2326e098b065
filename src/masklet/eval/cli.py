"""`masklet eval ...` subcommands."""

from __future__ import annotations

import argparse
import time


def register(subparsers) -> None:
    evaluate = subparsers.add_parser("eval", help="evaluate predictions against ground truth")
    eval_sub = evaluate.add_subparsers(dest="eval_command", metavar="KIND", required=True)
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


def run_vos(args: argparse.Namespace) -> int:
    from masklet.cli import CliError
    from masklet.eval.vos import evaluate_vos, write_results

    start = time.perf_counter()
    try:
        results = evaluate_vos(args.gt, args.pred, args.sequences, workers=args.workers, format=args.format)
    except ValueError as e:
        raise CliError(str(e)) from None
    print(f"{'sequence':<24}{'J':>8}{'J-rec':>8}{'J-dec':>8}{'F':>8}{'F-rec':>8}{'F-dec':>8}")
    for name, r in results["sequences"].items():
        cells = "".join(f"{r[m][s]:>8.4f}" for m in ("J", "F") for s in ("mean", "recall", "decay"))
        print(f"{name:<24}{cells}")
    g = results["global"]
    print(f"global  J {g['J']:.4f}  F {g['F']:.4f}  J&F {g['J&F']:.4f}   ({time.perf_counter() - start:.1f}s)")
    if args.output:
        try:
            json_path, csv_path = write_results(results, args.output)
        except OSError as e:
            raise CliError(f"cannot write {args.output}: {e}") from None
        print(f"wrote {json_path} and {csv_path}")
    return 0
