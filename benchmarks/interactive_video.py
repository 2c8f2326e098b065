"""Interactive video segmentation of a model (by default the bundled masklet-nano) on real data,
beside the two baselines built from the same model's image and video predictors.

    .venv/bin/python benchmarks/interactive_video.py [--model NAME_OR_PATH] [--output DIR]
        [--data ../shared/data] [--first-prompt clicks1] [--prompt-frame first]
        [--max-interactions 8] [--per-frame-max-interactions 120] [--target 0.6]
        [--max-frames N] [--grabcut-limit N] [--threads 1] [--device cpu] [--dtype float32]

The protocol of `masklet eval interactive-video` (`masklet.eval.interactive_video`) with the
methods video, image-per-frame and image-then-propagate on
  - DAVIS-2016 val (`davis2016-val`, 4 sequences, every frame annotated and scored);
    image-per-frame gets --per-frame-max-interactions, since it needs a click on every frame;
  - GrabCut (`interactive/GrabCut`, 50 images) as one-frame videos, every method with
    --max-interactions.
Writes DIR/davis/ and DIR/grabcut/ (results.json, summary.md, curves.png each) and
DIR/README.md: the tables, the interactions each baseline needs over the method's at J&F
targets 0.5 to 0.8, the settings, the timings and the machine (also in DIR/benchmark.json).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from masklet.cli.common import add_model_options, check_output_location, embedded_model_path, resolve_model
from masklet.cli.errors import CliError
from masklet.eval.interactive_video import ProtocolSettings, build_segmenters, run_interactive_video, write_outputs
from masklet.eval.interactive_video.annotator import FirstPrompt, PromptFrame
from masklet.eval.interactive_video.data import check_dataset
from masklet.eval.interactive_video.report import METHOD, InteractiveVideoReport
from masklet.io.atomic import write_text_atomic

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nano_eval import DATA, machine  # noqa: E402  (the same machine record as the accuracy benchmark)

METHODS = ["video", "image-per-frame", "image-then-propagate"]
RATIO_TARGETS = (0.5, 0.6, 0.7, 0.8)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=Path("out/interactive-video"), help="folder (default: out/interactive-video)")
    parser.add_argument("--data", type=Path, default=DATA, help=f"the shared real data (default: {DATA})")
    parser.add_argument("--first-prompt", choices=[p.value for p in FirstPrompt], default="clicks1")
    parser.add_argument("--prompt-frame", choices=[p.value for p in PromptFrame], default="first")
    parser.add_argument("--max-interactions", type=int, default=8, help="interactions per object (default: 8)")
    parser.add_argument("--per-frame-max-interactions", type=int, default=120,
                        help="image-per-frame's budget on DAVIS (default: 120, two clicks per frame of the longest video)")
    parser.add_argument("--target", type=float, default=0.6, help="J&F target of the tables (default: 0.6)")
    parser.add_argument("--max-frames", type=int, help="only the first N frames of each DAVIS sequence")
    parser.add_argument("--grabcut-limit", type=int, help="only the first N GrabCut images")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: 1)")
    add_model_options(parser)
    args = parser.parse_args(argv)
    if args.max_interactions < 1 or args.per_frame_max_interactions < args.max_interactions:
        parser.error("need 1 <= --max-interactions <= --per-frame-max-interactions")
    if not 0 < args.target <= 1:
        parser.error(f"--target is a fraction in (0, 1], got {args.target}")
    return args


def run_dataset(model, dataset: Path, settings: ProtocolSettings, args: argparse.Namespace,
                per_frame_budget: int, limit: int | None = None) -> InteractiveVideoReport:
    segmenters = build_segmenters(model, METHODS)
    return run_interactive_video(segmenters, dataset, settings, args.target, {"image-per-frame": per_frame_budget},
                                 max_frames=args.max_frames, limit=limit)


def ratio_table(reports: dict[str, InteractiveVideoReport]) -> str:
    """Each baseline's mean interactions to a J&F target over the method's, per dataset, and
    to the method's best J&F on each object."""
    head = ["dataset", "baseline", *(f"J&F {100 * t:g}" for t in RATIO_TARGETS), f"{METHOD}'s best J&F"]
    lines = ["| " + " | ".join(head) + " |", "| --- | --- |" + " ---: |" * (len(RATIO_TARGETS) + 1)]
    for name, report in reports.items():
        for baseline in METHODS[1:]:
            cells = []
            for target in RATIO_TARGETS:
                b, m = report.summary(baseline, target=target), report.summary(METHOD, target=target)
                cells.append(f"{report.ratio(baseline, target=target)} ({b.interactions_to_target:.1f} / "
                             f"{m.interactions_to_target:.1f})")
            cells.append(str(report.ratio_at_best(baseline)))
            lines.append(f"| {name} | {baseline} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def readme(reports: dict[str, InteractiveVideoReport], record: dict) -> str:
    settings = next(iter(reports.values())).settings
    seconds = {name: {m: round(r.seconds, 1) for m, r in report.methods.items()} for name, report in reports.items()}
    return "\n".join([
        f"# Interactive video segmentation: {record['model']['name']}", "",
        f"`{record['command']}` ({record['total_s']:.0f} s; {record['machine']['cpu']}, "
        f"{record['machine']['torch_threads']} torch thread(s), other jobs sharing the machine).", "",
        f"First prompt {settings.first_prompt.value} on the {settings.prompt_frame.value} frame where the object is "
        "visible, then one correction click per interaction on the frame with the lowest J&F, the whole video "
        "propagated after each (`masklet eval interactive-video`). J&F x100 over every annotated frame; AUC "
        f"normalised over interactions 1..{settings.max_interactions}; NoI = mean interactions to reach J&F "
        f"{record['target']:g} ({settings.max_interactions}+1, or the baseline's budget + 1, counted when never "
        "reached); ratio = baseline NoI / video NoI (>= when the baseline missed the target on some object, "
        "<= when only the video method did, n/a when both did); ratio at video's best: the same with each object's target at the best "
        "J&F the video method reaches on it.", "",
        "![J&F per interaction on DAVIS](davis/curves.png)", "",
        f"## DAVIS-2016 val (4 sequences; image-per-frame budget {record['per_frame_max_interactions']})", "",
        reports["davis"].markdown(), "",
        f"## GrabCut ({len(reports['grabcut'].videos())} images as one-frame videos, mean)", "",
        reports["grabcut"].markdown(per_video=False), "",
        "## Interactions a baseline needs over the video method's", "",
        "At fixed J&F targets: ratio (baseline NoI / video NoI), with \"not reached\" counted as budget + 1; "
        "at the video method's best: each object's target is the best J&F the video method reaches on it "
        "(it needs the interactions until its first best point).", "",
        ratio_table(reports), "",
        f"Seconds per method: {json.dumps(seconds)}.",
    ]) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    datasets = {"davis": args.data / "davis2016-val", "grabcut": args.data / "interactive" / "GrabCut"}
    try:
        check_output_location(args.output, is_folder=True)
        for path in datasets.values():
            check_dataset(path)
        model = resolve_model(args)
    except (ValueError, CliError) as e:
        print(f"interactive_video: error: {e}", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    settings = ProtocolSettings(args.first_prompt, args.prompt_frame, args.max_interactions)
    start = time.perf_counter()
    reports = {
        "davis": run_dataset(model, datasets["davis"], settings, args, args.per_frame_max_interactions),
        "grabcut": run_dataset(model, datasets["grabcut"], settings, args, args.max_interactions, args.grabcut_limit),
    }
    for name, report in reports.items():
        write_outputs(report, args.output / name, f"{name}: {model.config.name}, first prompt {args.first_prompt}")
    record = {
        "command": " ".join(["benchmarks/interactive_video.py", *(argv if argv is not None else sys.argv[1:])]),
        "model": {"source": str(args.model or embedded_model_path()), "name": model.config.name},
        "target": args.target, "per_frame_max_interactions": args.per_frame_max_interactions,
        "machine": machine(args), "total_s": time.perf_counter() - start,
    }
    write_text_atomic(args.output / "benchmark.json", json.dumps(record, indent=2))
    text = readme(reports, record)
    print(text)
    print(f"wrote {write_text_atomic(args.output / 'README.md', text)} ({record['total_s']:.0f}s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
