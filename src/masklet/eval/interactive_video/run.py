"""Run the simulated annotator with each method over a dataset."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

from masklet.eval.interactive_video.data import read_videos, video_names
from masklet.eval.interactive_video.methods import METHODS
from masklet.eval.interactive_video.protocol import ProtocolSettings, run_object
from masklet.eval.interactive_video.report import InteractiveVideoReport, MethodResult
from masklet.eval.interactive_video.segmenter import InteractiveVideoSegmenter


def build_segmenters(model, names: list[str]) -> dict[str, InteractiveVideoSegmenter]:
    unknown = [n for n in names if n not in METHODS]
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; choose from {sorted(METHODS)}")
    return {name: METHODS[name](model) for name in names}


def run_interactive_video(segmenters: dict[str, InteractiveVideoSegmenter], dataset: str | Path,
                          settings: ProtocolSettings, target: float, budgets: dict[str, int] | None = None,
                          sequences: list[str] | None = None, max_frames: int | None = None,
                          limit: int | None = None, show_progress: bool = True) -> InteractiveVideoReport:
    """Annotate every object of the dataset's videos (the given sequences, else the first
    `limit`, else all; each cut to `max_frames`) with each segmenter.

    budgets: interactions per object for some methods (default: `settings.max_interactions`),
      e.g. more for the image-per-frame baseline, which needs a click on every frame."""
    if not 0 < target <= 1:
        raise ValueError(f"the J&F target is a fraction in (0, 1], got {target}")
    budgets = budgets or {}
    small = {name: b for name, b in budgets.items() if b < settings.max_interactions}
    if small:
        raise ValueError(f"budgets {small} are below max_interactions {settings.max_interactions}")
    names = video_names(dataset, sequences, limit)
    if not names:
        raise ValueError(f"{dataset}: no videos to annotate")
    results = {name: MethodResult(budgets.get(name, settings.max_interactions), [], 0.0) for name in segmenters}
    bar = tqdm(total=len(names) * len(segmenters), desc="interactive video", unit="run", disable=not show_progress)
    for video in read_videos(dataset, names, max_frames):
        for name, segmenter in segmenters.items():
            result = results[name]
            method_settings = replace(settings, max_interactions=result.max_interactions)
            start = time.perf_counter()
            result.runs += [run_object(segmenter, video, obj, method_settings) for obj in video.objects]
            result.seconds += time.perf_counter() - start
            bar.set_postfix_str(f"{video.name} {name} J&F {result.runs[-1].curve[-1]:.3f}")
            bar.update()
    bar.close()
    return InteractiveVideoReport(str(dataset), settings, target, results)


def write_outputs(report: InteractiveVideoReport, output: str | Path, title: str = "") -> list[Path]:
    """`results.json`, `summary.md` and, with matplotlib, `curves.png` in the folder `output`."""
    import json

    from masklet.eval.interactive_video.plot import plotting_available, write_curves
    from masklet.io.atomic import write_text_atomic

    output = Path(output)
    written = [write_text_atomic(output / "results.json", json.dumps(report.to_dict(), indent=1)),
               write_text_atomic(output / "summary.md", report.markdown() + "\n")]
    if plotting_available():
        written.append(write_curves(output / "curves.png", report, title))
    return written
