"""What a worker does with one work item, whichever engine runs it.

A `Task` (the run's settings, picklable) and a `WorkItem` go in; an `ItemResult` comes out: the
item's output files as bytes and its problem lines. A bad input (missing or unreadable image or
video, box outside its image, malformed label file) becomes one problem line and the rest of
the item, and of the run, goes on; only a model that cannot be loaded stops the run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from masklet.autolabel.box_files import BoxFileError
from masklet.autolabel.detectors import Detector
from masklet.autolabel.images import annotate_image
from masklet.autolabel.inputs import WorkItem
from masklet.autolabel.mining import mine_video
from masklet.autolabel.options import AnnotateOptions, MineOptions, ModelSpec
from masklet.autolabel.outputs import shard_files, video_files
from masklet.autolabel.videos import annotate_video
from masklet.autolabel.workbench import workbench
from masklet.io.image import ImageReadError
from masklet.io.video import VideoReadError, open_video

COMMANDS = ("annotate", "mine")
# Failures of one input that are reported by their message alone (it names the input).
INPUT_ERRORS = (ImageReadError, VideoReadError, BoxFileError)


@dataclass(frozen=True)
class Task:
    """The settings every item of a run shares."""

    command: str  # "annotate" or "mine"
    kind: str  # "images" or "videos"
    output_format: str
    model: ModelSpec = field(default_factory=ModelSpec)
    detector: Detector | None = None  # annotate only
    annotate_options: AnnotateOptions = field(default_factory=AnnotateOptions)
    mine_options: MineOptions = field(default_factory=MineOptions)
    threads: int = 1  # torch threads per worker (fixed, so every engine computes alike)
    sav_every: int = 1  # SA-V output: annotate every N-th frame (SA-V's own files: every 4th)

    def settings(self) -> dict:
        """What must match for a run to resume another (JSON-able)."""
        return {
            "command": self.command, "kind": self.kind, "format": self.output_format,
            "model": asdict(self.model), "detector": type(self.detector).__name__ if self.detector else None,
            "options": asdict(self.annotate_options if self.command == "annotate" else self.mine_options),
            "sav_every": self.sav_every,
        }


@dataclass
class ItemResult:
    files: dict[str, bytes]  # output path relative to the output folder -> content
    problems: list[str]
    failed: bool = False  # the item produced nothing; a resumed run tries it again


def describe(error: Exception) -> str:
    """One line for a failure of one input."""
    text = str(error).splitlines()[0] if str(error) else ""
    return text if isinstance(error, INPUT_ERRORS) else f"{type(error).__name__}: {text}"


def run_item(task: Task, item: WorkItem) -> ItemResult:
    """Do one item with this process's model (loaded on first use)."""
    bench = workbench(task.model, task.threads)
    if task.kind == "images":
        return _image_shard(bench, task, item)
    try:
        return _video(bench, task, item)
    except Exception as e:  # noqa: BLE001 -- one bad video is reported and the run goes on
        return ItemResult({}, [f"{item.inputs[0]}: {describe(e)}"], failed=True)


def _image_shard(bench, task: Task, item: WorkItem) -> ItemResult:
    annotated, problems = [], []
    for position, name in enumerate(item.inputs):
        try:
            image, skipped = annotate_image(bench.image_predictor, task.detector, Path(name))
        except Exception as e:  # noqa: BLE001 -- one bad image is reported and the shard goes on
            problems.append(f"{name}: {describe(e)}")
            continue
        annotated.append((position, image))
        problems += skipped
    return ItemResult(shard_files(task.output_format, item, annotated, task.detector.categories), problems)


def _video(bench, task: Task, item: WorkItem) -> ItemResult:
    with open_video(item.inputs[0]) as video:
        if task.command == "mine":
            masklets = mine_video(bench, video, item.id, task.mine_options)
            stability = [[m.stability.get(t, 0.0) for m in masklets.masklets]
                         for t in range(0, masklets.num_frames, task.sav_every)]
            attributes = {"masklet_type": ["auto"] * len(masklets.masklets), "masklet_stability_score": stability}
            return ItemResult(video_files(task.output_format, masklets, f"{item.id}_auto", attributes, task.sav_every), [])
        masklets, problems = annotate_video(bench, task.detector, video, item.id, task.annotate_options)
    categories = task.detector.categories
    ids = [m.category_id for m in masklets.masklets]
    attributes = {"masklet_category_id": ids, "masklet_category": [categories.get(i, str(i)) for i in ids]}
    return ItemResult(video_files(task.output_format, masklets, item.id, attributes, task.sav_every), problems)
