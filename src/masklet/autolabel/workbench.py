"""The predictors a worker process keeps between items: the model is loaded once per process
(per ModelSpec) and reused by every item that process runs, whichever engine sent it."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import torch

from masklet.autolabel.options import MineOptions, ModelSpec

_BENCHES: dict[ModelSpec, Workbench] = {}


@dataclass
class Workbench:
    spec: ModelSpec
    model: object
    _generators: dict[MineOptions, object] = field(default_factory=dict)

    @cached_property
    def image_predictor(self):
        from masklet.predict.image import ImagePredictor

        return ImagePredictor(self.model)

    @cached_property
    def video_predictor(self):
        from masklet.predict.video import VideoPredictor

        # A keyframe's detection box re-prompting a tracked object conditions it, like a first prompt.
        return VideoPredictor(self.model, show_progress=False, add_all_frames_to_correct_as_cond=True)

    def mask_generator(self, options: MineOptions):
        from masklet.predict.automatic import MaskGenerator

        if options not in self._generators:
            self._generators[options] = MaskGenerator(
                self.model, points_per_side=options.points_per_side, pred_iou_thresh=options.pred_iou_thresh,
                stability_score_thresh=options.stability_score_thresh,
            )
        return self._generators[options]


def workbench(spec: ModelSpec, threads: int) -> Workbench:
    """This process's workbench for `spec` (loaded on first use), with torch on `threads` threads."""
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    if spec not in _BENCHES:
        _BENCHES[spec] = Workbench(spec, spec.load().eval())
    return _BENCHES[spec]
