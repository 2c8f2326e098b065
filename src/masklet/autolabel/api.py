"""`masklet.annotate` and `masklet.mine`: whole datasets in, masks out, resumable.

    import masklet
    masklet.annotate("images/", boxes="detections.json", output="labels/")      # YOLO-seg labels
    masklet.annotate("clips/", boxes="boxes.csv", output="masklets/")            # SA-V per video
    masklet.mine("clips/", output="auto/", engine="ray")                         # <video>_auto.json
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from masklet.autolabel.box_files import BoxFileError, open_box_file
from masklet.autolabel.detectors import Detector
from masklet.autolabel.engines import LocalEngine, RayEngine, make_engine
from masklet.autolabel.inputs import (
    DEFAULT_SHARD_SIZE,
    SourceError,
    WorkItem,
    image_items,
    source_kind,
    video_items,
)
from masklet.autolabel.manifest import RunState
from masklet.autolabel.options import AnnotateOptions, MineOptions, ModelSpec
from masklet.autolabel.outputs import (
    IMAGE_FORMATS,
    VIDEO_FORMATS,
    finish_images,
    write_report,
)
from masklet.autolabel.task import Task

DEFAULT_FORMATS = {"images": "yolo", "videos": "sav"}


@dataclass
class RunReport:
    """What a run did: its items, how many an earlier run had finished, the problem lines of
    all finished items (also in OUT/report.txt) and the items that failed whole."""

    output: Path
    items: int
    resumed: int
    problems: list[str]
    failed: list[str]


def box_format_of(path: Path) -> str:
    """coco for .json, csv for .csv, yolo for a folder."""
    if path.is_dir():
        return "yolo"
    formats = {".json": "coco", ".csv": "csv"}
    if path.suffix.lower() not in formats:
        raise BoxFileError(f"{path}: cannot tell the box format from the name; give box_format (coco, yolo or csv)")
    return formats[path.suffix.lower()]


def default_output(source: Path) -> Path:
    """Ultralytics' auto-annotation folder: `<source>_auto_annotate_labels` beside the source."""
    return source.parent / f"{source.stem}_auto_annotate_labels"


def run_task(task: Task, items: Sequence[WorkItem], output: str | Path, engine: LocalEngine | RayEngine,
             restart: bool = False, progress: bool = True) -> RunReport:
    """Run the items not done yet on `engine`, writing each result as it arrives, then the
    files that join them and the report."""
    output = Path(output)
    state = RunState.open(output, task.settings(), items, restart)
    todo = [item for item in items if not state.is_done(item)]
    with tqdm(total=len(todo), desc=f"{task.command} {task.kind}", unit="item", disable=not progress) as bar:
        for item, result in engine.run(task, todo):
            state.commit(item, result)
            bar.update()
    if task.kind == "images":
        finish_images(task.output_format, output, items, task.detector.categories)
    problems = state.problems()
    write_report(output, problems)
    return RunReport(output, len(items), len(items) - len(todo), problems, state.failed())


def _run_on(engine: str | LocalEngine | RayEngine, workers: int, ray_address: str | None, task: Task,
            items: Sequence[WorkItem], output, restart: bool, progress: bool) -> RunReport:
    """run_task on `engine`; one named here is made for this run and closed after it."""
    if not isinstance(engine, str):
        return run_task(task, items, output, engine, restart, progress)
    made = make_engine(engine, workers, ray_address)
    try:
        return run_task(task, items, output, made, restart, progress)
    finally:
        if isinstance(made, LocalEngine):
            made.close()


def _at_least_one(value: int, what: str) -> int:
    if value < 1:
        raise ValueError(f"{what} must be >= 1, got {value}")
    return value


def _check_format(output_format: str | None, kind: str) -> str:
    output_format = output_format or DEFAULT_FORMATS[kind]
    formats = IMAGE_FORMATS if kind == "images" else VIDEO_FORMATS
    if output_format not in formats:
        raise SourceError(f"format {output_format!r} is not one for {kind}; use one of {', '.join(formats)}")
    return output_format


def annotate(
    source: str | Path, boxes: str | Path | None = None, *, detector: Detector | None = None,
    box_format: str | None = None, output: str | Path | None = None, output_format: str | None = None,
    kind: str = "auto", model: str | None = None, device: str = "cpu", dtype: str = "float32",
    engine: str | LocalEngine | RayEngine = "local", workers: int = 1, ray_address: str | None = None,
    shard_size: int = DEFAULT_SHARD_SIZE, match_iou: float = 0.5, sav_every: int = 1, threads: int = 1,
    restart: bool = False, progress: bool = True,
) -> RunReport:
    """Masks for the detected objects of images or videos.

    source: an image, a folder or .txt list of images, a video file, a frame folder, or a folder
      of videos (see masklet.autolabel.inputs); kind "images" / "videos" overrides the guess.
    boxes (with box_format coco / yolo / csv, guessed from the name) or detector: where the
      boxes come from (e.g. `UltralyticsDetector("yolo11n.pt")`).
    output: the output folder (default: `<source>_auto_annotate_labels` beside the source, as
      Ultralytics' auto_annotate); output_format yolo / coco for images, sav / davis for videos.
    model, device, dtype: the SAM 2 model (default: the bundled masklet-nano).
    engine "local" (`workers` processes) or "ray" (`ray_address`, or a local cluster).
    match_iou: the mask IoU at which a keyframe detection continues a tracked object.
    sav_every: SA-V files hold every N-th frame (SA-V's own: every 4th; default every frame).
    threads: torch threads per worker (fixed whatever the engine, so outputs are the same bytes).
    An interrupted run resumes when called again with the same arguments (`restart` starts over).
    """
    if (boxes is None) == (detector is None):
        raise ValueError("give boxes (a box file or folder) or a detector, one of them")
    source = Path(source)
    kind = source_kind(source, kind)
    output_format = _check_format(output_format, kind)
    if detector is None:
        boxes = Path(boxes)
        detector = open_box_file(boxes, box_format or box_format_of(boxes))
    items = image_items(source, shard_size) if kind == "images" else video_items(source)
    task = Task("annotate", kind, output_format, ModelSpec(model, device, dtype), detector,
                annotate_options=AnnotateOptions(match_iou), threads=_at_least_one(threads, "threads"),
                sav_every=_at_least_one(sav_every, "sav_every"))
    return _run_on(engine, workers, ray_address, task, items, output or default_output(source), restart, progress)


def mine(
    source: str | Path, *, output: str | Path, output_format: str = "sav", options: MineOptions | None = None,
    sav_every: int = 1,
    model: str | None = None, device: str = "cpu", dtype: str = "float32",
    engine: str | LocalEngine | RayEngine = "local", workers: int = 1, ray_address: str | None = None,
    threads: int = 1, restart: bool = False, progress: bool = True,
) -> RunReport:
    """SA-V style automatic masklets of videos with no input (see masklet.autolabel.mining):
    `<video>_auto.json` per video in `output`, every `sav_every`-th frame (or DAVIS PNGs of
    every frame with output_format "davis")."""
    source = Path(source)
    source_kind(source, "videos")
    task = Task("mine", "videos", _check_format(output_format, "videos"), ModelSpec(model, device, dtype),
                mine_options=options or MineOptions(), threads=_at_least_one(threads, "threads"),
                sav_every=_at_least_one(sav_every, "sav_every"))
    return _run_on(engine, workers, ray_address, task, video_items(source), output, restart, progress)
