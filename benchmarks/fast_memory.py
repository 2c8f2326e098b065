"""Fast memory: what each option that makes tracking attend to less costs in accuracy and
gains in speed.

    .venv/bin/python benchmarks/fast_memory.py [--data ../shared/data] [--settings NAME ...]
        [--repeats 3] [--threads 1] [--skip-accuracy] [--skip-speed]
        [--output benchmarks/results/fast_memory.json] [--markdown benchmarks/results/fast_memory.md]

Accuracy: the bundled masklet-nano (a trained model) on the DAVIS-2016 sequences of
../shared/data, each object prompted with its first-frame mask and tracked forward by
`masklet.VideoPredictor` (as benchmarks/nano_eval.py does), J&F by Masklet's DAVIS scorer.
A lower resolution is measured on nano at the same fraction of its own 256 px as 768 and
512 px are of the official models' 1024 px (192 and 128 px). The bfloat16 settings load both
models in bfloat16 (`load_model(..., dtype="bfloat16")`, what dtype "auto" picks on a CPU with
AVX512-BF16 or AMX); their J&F drop and speed-up are against exact float32.

Speed: sam2.1-hiera-tiny with seeded (random) weights at its 1024 px, or at the setting's
resolution: milliseconds per object-frame at full memory, i.e. `StreamTracker.track` of one
clicked object on a frame whose image features were computed beforehand (`encode_frame`):
memory attention, decoder and memory encoder, without the image encoder. Frames from index
`num_maskmem` (7) on are timed (the bank then holds the conditioning frame and 6 tracked
frames); the figure is the median over those frames and the repeats. All settings' trackers
advance together frame by frame, so load from other processes slows them alike, and the
speed-up is the median of exact's time over the setting's on the same frame; on a shared
machine the timings stay noisy all the same.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

import masklet
from masklet import MemoryOptions
from masklet.eval.run_vos import run_vos_benchmark
from masklet.io.atomic import write_text_atomic
from masklet.predict.stream import encode_frame

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"  # ../shared/data beside the repository
RESULTS = Path(__file__).resolve().parent / "results"
ACCURACY_MODEL = "masklet-nano"
SPEED_MODEL = "sam2.1-hiera-tiny"
SPEED_FRAMES = 10


@dataclass(frozen=True)
class Setting:
    """One way to track: a memory option and an input resolution (a fraction of the model's own)."""

    name: str
    memory: str | MemoryOptions = "exact"
    scale: float = 1.0
    dtype: str = "float32"  # `load_model`'s dtype (bfloat16: where the CPU computes it natively)

    def image_size(self, model_size: int) -> int:
        return int(model_size * self.scale)

    def describe(self) -> dict:
        memory = MemoryOptions.of(self.memory)
        return {"name": self.name, "memory": self.memory if isinstance(self.memory, str) else "custom",
                "pool": memory.pool, "pool_conditioning": memory.pool_conditioning,
                "recent_frames": memory.recent_frames, "scale": self.scale, "dtype": self.dtype}


SETTINGS = {s.name: s for s in [
    Setting("exact"),
    Setting("pool 2x2 all frames", MemoryOptions(pool=2, pool_conditioning=True)),
    Setting("last 2 frames", MemoryOptions(recent_frames=2)),
    Setting("last 1 frame", MemoryOptions(recent_frames=1)),
    Setting("pool 2x2 tracked, last 2 frames", MemoryOptions(pool=2, recent_frames=2)),
    Setting("pool 2x2 tracked, last 1 frame", MemoryOptions(pool=2, recent_frames=1)),
    Setting("3/4 resolution", scale=0.75),
    Setting("1/2 resolution", scale=0.5),
    Setting("fast preset: pool 2x2 tracked frames", "fast"),
    Setting("exact, bfloat16", dtype="bfloat16"),
    Setting("fast preset, bfloat16", "fast", dtype="bfloat16"),
]}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA, help=f"the shared real data (default: {DATA})")
    parser.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS),
                        help="settings to measure (default: all; exact is always measured, as the baseline)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each setting (default: 3)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: 1)")
    parser.add_argument("--skip-accuracy", action="store_true", help="no DAVIS runs")
    parser.add_argument("--skip-speed", action="store_true", help="no timing")
    parser.add_argument("--output", type=Path, default=RESULTS / "fast_memory.json", help="the JSON report")
    parser.add_argument("--markdown", type=Path, default=RESULTS / "fast_memory.md", help="the markdown table")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.threads < 1:
        parser.error("--repeats and --threads must be at least 1")
    args.settings = ["exact", *(s for s in args.settings if s != "exact")]
    return args


def model_at(name: str, setting: Setting, seeded: bool):
    """The model `name` at the setting's resolution and dtype (seeded: random weights of its
    config, the same whatever the dtype)."""
    config = masklet.get_config(name)
    size = setting.image_size(config.image_size)
    if not seeded:
        return masklet.load_model(name, image_size=size, dtype=setting.dtype)
    torch.manual_seed(0)
    return masklet.build_model(dataclasses.replace(config, image_size=size), dtype=setting.dtype)


def davis_scores(setting: Setting, dataset: Path, work: Path) -> dict:
    """J, F and J&F (global and per sequence) of masklet-nano tracking with `setting`."""
    predictor = masklet.VideoPredictor(model_at(ACCURACY_MODEL, setting, seeded=False), memory=setting.memory,
                                       show_progress=False)
    start = time.perf_counter()
    run = run_vos_benchmark(predictor, dataset, work / setting.name.replace(" ", "_").replace("/", "-"),
                            show_progress=False, workers=1)
    per_sequence = {name: s["J&F"] if "J&F" in s else (s["J"]["mean"] + s["F"]["mean"]) / 2
                    for name, s in run.results["sequences"].items()}
    return {"image_size": predictor.image_size, **run.results["global"], "sequences": per_sequence,
            "frames": run.frames, "seconds": time.perf_counter() - start}


class TimedTracker:
    """One setting's tracker over pre-encoded frames: one object, clicked on frame 0."""

    def __init__(self, setting: Setting, model, encoded: list, size: tuple[int, int]) -> None:
        self.tracker = masklet.StreamTracker(model, fill_hole_area=0, memory=setting.memory)
        self.encoded, self.size = encoded, size

    def frame_ms(self, index: int) -> float:
        """Track frame `index` (the next one); its time in ms."""
        start = time.perf_counter()
        self.tracker.track(self.encoded[index])
        elapsed = 1000 * (time.perf_counter() - start)
        if index == 0:
            height, width = self.size
            self.tracker.add_new_points_or_box(obj_id=1, points=[[width / 2, height / 2]], labels=[1])
        return elapsed


def speed(settings: list[Setting], repeats: int) -> dict[str, dict]:
    """Per setting: the median ms per object-frame, its samples, and the speed-up over exact
    (the median over timed frames of exact's time / the setting's on the same frame).

    The settings' trackers advance together, frame by frame, so every setting's frame t is
    timed within the same minute: load from other jobs slows them alike."""
    from masklet.demo_clips import photo_clip

    frames = photo_clip(SPEED_FRAMES).frames
    models, encoded = {}, {}
    for setting in settings:
        key = model_key(setting)
        if key not in models:
            models[key] = model_at(SPEED_MODEL, setting, seeded=True)
            with torch.inference_mode():
                encoded[key] = [encode_frame(models[key], frame) for frame in frames]
    full_memory = masklet.get_config(SPEED_MODEL).num_maskmem
    samples: dict[str, list[float]] = {s.name: [] for s in settings}
    for repeat in range(repeats):
        trackers = {}
        for s in settings:
            trackers[s.name] = TimedTracker(s, models[model_key(s)], encoded[model_key(s)], frames[0].shape[:2])
        for index in range(SPEED_FRAMES):
            for name, tracker in trackers.items():
                elapsed = tracker.frame_ms(index)
                if index >= full_memory:
                    samples[name].append(elapsed)
        print(f"speed round {repeat + 1}/{repeats}: " + ", ".join(
            f"{name} {statistics.median(ms):.0f} ms" for name, ms in samples.items()), flush=True)
    return {name: {"object_frame_ms": statistics.median(ms), "samples_ms": ms,
                   "speedup": statistics.median(e / m for e, m in zip(samples["exact"], ms))}
            for name, ms in samples.items()}


def model_key(setting: Setting) -> tuple[int, str]:
    """What the speed model of a setting depends on: its resolution and dtype."""
    return setting.image_size(masklet.get_config(SPEED_MODEL).image_size), setting.dtype


def machine(threads: int) -> dict:
    names = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
             if line.startswith("model name")] if Path("/proc/cpuinfo").exists() else []
    return {"cpu": names[0] if names else platform.processor(), "cpu_count": os.cpu_count(), "torch_threads": threads,
            "torch": torch.__version__, "python": platform.python_version(), "masklet": masklet.__version__}


def markdown(report: dict) -> str:
    rows = report["settings"]
    head = ("| setting | dtype | pool | recent frames | nano px | nano J&F | J&F drop | tiny px | tiny object-frame ms "
            "| speed-up vs exact |")
    lines = [head, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for row in rows:
        acc, spd = row.get("accuracy"), row.get("speed")
        cells = [row["name"], row["dtype"], str(row["pool"]), "all" if row["recent_frames"] is None else str(row["recent_frames"]),
                 f"{acc['image_size']}" if acc else "-", f"{100 * acc['J&F']:.1f}" if acc else "-",
                 f"{100 * acc['jf_drop']:.2f}" if acc else "-", f"{spd['image_size']}" if spd else "-",
                 f"{spd['object_frame_ms']:.0f}" if spd else "-", f"{spd['speedup']:.2f}x" if spd else "-"]
        lines.append("| " + " | ".join(cells) + " |")
    m = report["machine"]
    notes = []
    if any("accuracy" in row for row in rows):
        notes.append(f"J&F: {ACCURACY_MODEL}, DAVIS-2016 val, {report.get('sequences', '?')} sequences of ../shared/data "
                     "(x100; drop = exact float32 - setting).")
    if any("speed" in row for row in rows):
        notes.append(f"Speed: {SPEED_MODEL} with seeded weights, one object, image encoder excluded, on {m['cpu']} with "
                     f"{m['torch_threads']} torch thread(s), {report['repeats']} rounds: object-frame ms is the median of "
                     "every timed frame, the speed-up the median of exact's time over the setting's on the same frame "
                     "(all settings advance together). The machine was shared with other jobs: the timings are noisy "
                     "(see the samples in the JSON).")
    lines += ["", " ".join(notes)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    settings = [SETTINGS[name] for name in args.settings]
    report: dict = {"machine": machine(args.threads), "repeats": args.repeats,
                    "settings": [{**s.describe()} for s in settings]}
    rows = {row["name"]: row for row in report["settings"]}
    if not args.skip_accuracy:
        dataset = args.data / "davis2016-val"
        with tempfile.TemporaryDirectory(prefix="fast-memory-") as tmp:
            for setting in settings:
                rows[setting.name]["accuracy"] = davis_scores(setting, dataset, Path(tmp))
                print(f"accuracy {setting.name}: J&F {100 * rows[setting.name]['accuracy']['J&F']:.2f}", flush=True)
        exact = rows["exact"]["accuracy"]["J&F"]
        for row in rows.values():
            row["accuracy"]["jf_drop"] = exact - row["accuracy"]["J&F"]
        report["sequences"] = len(rows["exact"]["accuracy"]["sequences"])
    if not args.skip_speed:
        size = masklet.get_config(SPEED_MODEL).image_size
        for name, result in speed(settings, args.repeats).items():
            rows[name]["speed"] = {"image_size": SETTINGS[name].image_size(size), **result}
    report["markdown"] = markdown(report)
    print(report["markdown"])
    write_text_atomic(args.output, json.dumps(report, indent=2))
    write_text_atomic(args.markdown, report["markdown"] + "\n")
    print(f"wrote {args.output} and {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
