"""Auto-annotation and masklet mining at dataset scale (`masklet annotate`, `masklet mine`).

Boxes from a detector or from files prompt SAM 2 for masks of images, and of videos through
keyframes; mining finds SA-V style masklets in videos with no input. Work is cut into items
(image shards, videos) listed in a manifest, each written atomically when done, so a run
resumes where it stopped; items run on local processes or a Ray cluster with the same outputs.
"""

from masklet.autolabel.api import RunReport, annotate, mine
from masklet.autolabel.box_files import (
    BoxFileError,
    TableBoxes,
    YoloBoxFolder,
    open_box_file,
)
from masklet.autolabel.detections import BoxError, Detection
from masklet.autolabel.detectors import Detector, UltralyticsDetector
from masklet.autolabel.engines import EngineError, LocalEngine, RayEngine
from masklet.autolabel.options import AnnotateOptions, MineOptions, ModelSpec

__all__ = [
    "AnnotateOptions", "BoxError", "BoxFileError", "Detection", "Detector", "EngineError", "LocalEngine",
    "MineOptions", "ModelSpec", "RayEngine", "RunReport", "TableBoxes", "UltralyticsDetector", "YoloBoxFolder",
    "annotate", "mine", "open_box_file",
]
