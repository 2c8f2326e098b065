"""Accuracy of a model (by default the bundled masklet-nano) on real data, beside model-free baselines.

    .venv/bin/python benchmarks/nano_eval.py [--model NAME_OR_PATH] [--output out/nano-eval.json]
        [--data ../shared/data] [--limit N] [--max-frames N] [--max-clicks 20]
        [--click-baseline] [--predictions DIR] [--workers N] [--device cpu] [--dtype float32]

DAVIS-2016 val (`davis2016-val`, 4 sequences): each object is prompted with its first-frame
ground-truth mask and tracked forward by `masklet.VideoPredictor`; the same runner also writes
the "copy the first-frame mask to every frame" baseline; both are scored by Masklet's DAVIS
scorer (J, F, J&F; first and last frames not scored).
DAVIS with one click: each object gets one positive click on its first frame (at the deepest
point of its mask, the interactive benchmarks' rule) and is tracked forward; this is
interaction 1 of `masklet evaluate interactive-video --first-prompt clicks1`, whose scorer
counts every annotated frame (the first and last too).
GrabCut (`interactive/GrabCut`, 50 images): simulated clicks (`masklet.eval.interactive`),
mIoU after 1 and 5 clicks and NoC@85 / NoC@90 for the model through `ImagePredictor`, and with
--click-baseline for a model-free random walker seeded by the same rule's clicks (1000 sparse
solves: 5 to 10 minutes on one core).
Prints markdown tables ready for a model card and writes every figure, the timings and the
machine (CPU, torch threads) to the JSON file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

import masklet
from masklet.cli.common import add_model_options, check_output_location, embedded_model_path, resolve_model
from masklet.cli.errors import CliError
from masklet.eval.baselines import CopyMaskPredictor, RandomWalkerClicker
from masklet.eval.interactive import PredictorClicker, image_mask_folders, run_interactive
from masklet.eval.interactive_video.annotator import FirstPrompt
from masklet.eval.interactive_video.protocol import ProtocolSettings
from masklet.eval.interactive_video.run import build_segmenters, run_interactive_video
from masklet.eval.run_vos import run_vos_benchmark
from masklet.io.atomic import write_text_atomic
from masklet.io.vos_dataset import open_vos_dataset

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"  # ../shared/data beside the repository


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", default="out/nano-eval.json", help="JSON report (default: out/nano-eval.json)")
    parser.add_argument("--data", type=Path, default=DATA, help=f"the shared real data (default: {DATA})")
    parser.add_argument("--limit", type=int, help="only the first N DAVIS sequences and N GrabCut images")
    parser.add_argument("--max-frames", type=int, help="only the first N frames of each DAVIS sequence")
    parser.add_argument("--max-clicks", type=int, default=20, help="clicks per GrabCut image (default: 20)")
    parser.add_argument("--click-baseline", action="store_true",
                        help="also run the model-free random-walker click baseline (slow: minutes)")
    parser.add_argument("--predictions", type=Path,
                        help="keep the DAVIS prediction PNGs here (default: a temporary folder)")
    parser.add_argument("--workers", type=int, help="DAVIS scoring processes (default: one per core)")
    add_model_options(parser)
    args = parser.parse_args(argv)
    for name in ("limit", "max_frames"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    if args.max_clicks < 5:
        parser.error(f"--max-clicks must be at least 5 (mIoU@5 is reported), got {args.max_clicks}")
    return args


def davis(model, dataset: Path, work: Path, args: argparse.Namespace) -> dict:
    """The model and the copy-first-frame baseline on the DAVIS sequences: evaluate_vos's
    results per method, with frames and prediction time."""
    names = open_vos_dataset(dataset).sequence_names()[: args.limit]
    methods = {"model": masklet.VideoPredictor(model, show_progress=False), "copy_first_frame": CopyMaskPredictor()}
    report = {"sequences": names, "max_frames": args.max_frames}
    for method, predictor in methods.items():
        start = time.perf_counter()
        run = run_vos_benchmark(predictor, dataset, work / method, names, max_frames=args.max_frames,
                                workers=args.workers)
        report[method] = {**run.results, "frames": run.frames, "predict_s": run.seconds,
                          "frames_per_s": run.frames_per_second, "total_s": time.perf_counter() - start}
    return report


def davis_one_click(model, dataset: Path, names: list[str], args: argparse.Namespace) -> dict:
    """J&F per sequence and overall after one click on each object's first frame and tracking."""
    start = time.perf_counter()
    settings = ProtocolSettings(first_prompt=FirstPrompt.CLICKS1, max_interactions=1)
    run = run_interactive_video(build_segmenters(model, ["video"]), dataset, settings, target=0.8,
                                sequences=names, max_frames=args.max_frames, show_progress=False)
    return {"sequences": {name: run.summary("video", name).curve[0] for name in names},
            "J&F": run.summary("video").curve[0], "total_s": time.perf_counter() - start}


def grabcut(model, dataset: Path, args: argparse.Namespace) -> dict:
    """Click results (summary and per-image IoUs) of the model, and of the random walker."""
    methods = {"model": PredictorClicker(masklet.ImagePredictor(model))}
    if args.click_baseline:
        methods["random_walker"] = RandomWalkerClicker()
    report = {"max_clicks": args.max_clicks}
    for method, clicker in methods.items():
        start = time.perf_counter()
        results = run_interactive(clicker, dataset, max_clicks=args.max_clicks, limit=args.limit)
        report[method] = {**results, "seconds": time.perf_counter() - start}
    return report


def machine(args: argparse.Namespace) -> dict:
    names = [line.split(":", 1)[1].strip() for line in _read_lines("/proc/cpuinfo") if line.startswith("model name")]
    cpu = names[0] if names else platform.processor()
    return {
        "cpu": cpu, "cpu_count": os.cpu_count(), "usable_cpus": len(os.sched_getaffinity(0)),
        "torch_threads": torch.get_num_threads(), "torch": torch.__version__, "python": platform.python_version(),
        "platform": platform.platform(), "device": args.device, "dtype": args.dtype, "masklet": masklet.__version__,
    }


def _read_lines(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []


def markdown(report: dict) -> str:
    """The report's tables as markdown (scores x 100, as papers and model cards give them)."""
    name = report["model"]["name"]
    d, g = report["davis"], report["grabcut"]
    lines = [
        f"DAVIS 2016 val, {len(d['sequences'])} sequences (first-frame mask as prompt; J and F as the DAVIS "
        "evaluator, first and last frames not scored)", "",
        f"| sequence | frames | {name} J | F | J&F | copy first frame J | F | J&F |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for seq in d["sequences"]:
        scores = [d[m]["sequences"][seq] for m in ("model", "copy_first_frame")]
        cells = [x for s in scores for x in (s["J"]["mean"], s["F"]["mean"], (s["J"]["mean"] + s["F"]["mean"]) / 2)]
        lines.append(f"| {seq} | {scores[0]['frames'] + 2} | " + " | ".join(f"{100 * x:.1f}" for x in cells) + " |")
    means = [d[m]["global"][k] for m in ("model", "copy_first_frame") for k in ("J", "F", "J&F")]
    lines.append(f"| **mean** | {d['model']['frames']} | " + " | ".join(f"**{100 * x:.1f}**" for x in means) + " |")
    click = d["one_click"]
    lines += ["", "DAVIS with one click on each object's first frame instead of its mask (every annotated frame "
              "scored)", "", "| sequence | " + " | ".join(d["sequences"]) + " | **mean** |",
              "| --- |" + " ---: |" * (len(d["sequences"]) + 1),
              f"| {name} J&F | " + " | ".join(f"{100 * click['sequences'][s]:.1f}" for s in d["sequences"])
              + f" | **{100 * click['J&F']:.1f}** |"]
    lines += [
        "", f"GrabCut, {g['model']['summary']['images']} images (simulated clicks at the centre of the largest "
        f"error; NoC counts up to {g['max_clicks']})", "",
        "| method | mIoU@1 | mIoU@5 | NoC@85 | NoC@90 |", "| --- | ---: | ---: | ---: | ---: |",
    ]
    labels = {"model": name, "random_walker": "random walker from the same clicks (model-free)"}
    for method, label in labels.items():
        if method in g:
            s = g[method]["summary"]
            lines.append(f"| {label} | {100 * s['mIoU@1']:.1f} | {100 * s['mIoU@5']:.1f} | "
                         f"{s['NoC@85']:.2f} | {s['NoC@90']:.2f} |")
    m = report["machine"]
    lines += ["", f"{name} ({report['model']['parameters'] / 1e6:.1f}M parameters, {report['model']['image_size']} px) "
              f"on {m['device']} ({m['cpu']}, {m['torch_threads']} torch threads): DAVIS "
              f"{d['model']['frames_per_s']:.1f} frames/s, GrabCut {g['model']['seconds']:.1f}s for "
              f"{g['model']['summary']['images']} images x {g['max_clicks']} clicks."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    davis_data, grabcut_data = args.data / "davis2016-val", args.data / "interactive" / "GrabCut"
    try:
        check_output_location(args.output)
        open_vos_dataset(davis_data)
        image_mask_folders(grabcut_data)
        model = resolve_model(args)
    except (ValueError, CliError) as e:
        print(f"nano_eval: error: {e}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    report = {
        "model": {"source": str(args.model or embedded_model_path()), "name": model.config.name,
                  "image_size": model.config.image_size, "parameters": sum(p.numel() for p in model.parameters()),
                  "config": model.config.to_dict()},
        "machine": machine(args),
    }
    with tempfile.TemporaryDirectory(prefix="nano-eval-") as tmp:
        report["davis"] = davis(model, davis_data, args.predictions or Path(tmp), args)
    report["davis"]["one_click"] = davis_one_click(model, davis_data, report["davis"]["sequences"], args)
    report["grabcut"] = grabcut(model, grabcut_data, args)
    report["total_s"] = time.perf_counter() - start
    table = markdown(report)
    report["markdown"] = table
    print(table)
    print(f"\nwrote {write_text_atomic(args.output, json.dumps(report, indent=2))} ({report['total_s']:.0f}s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
