"""Run a video predictor over a semi-supervised VOS dataset and score it.

Each object is prompted with its mask on its first annotated frame (`add_new_mask`) and
tracked forward; predictions are written as DAVIS palette PNGs `<output>/<seq>/<frame>.png`
(object id as value) and scored with `evaluate_vos` into `<output>/results.json`.
An object's pixels are left out of the frames before the one it is prompted on, and where
objects overlap a pixel goes to the one with the highest logit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from masklet.backend.arrays import to_numpy
from masklet.eval.vos import evaluate_vos, write_results
from masklet.io.davis import logits_to_label_map, write_davis_png
from masklet.io.vos_dataset import ObjectPrompt, VosSequence, open_vos_dataset
from masklet.predict.results import FrameResult


@dataclass
class VosBenchmarkRun:
    results: dict  # evaluate_vos's results, as written to results.json
    frames: int  # frames predicted
    seconds: float  # time spent predicting and writing them

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else float("inf")


def run_vos_benchmark(predictor_or_model, dataset: str | Path, output: str | Path,
                      sequences: list[str] | None = None, max_frames: int | None = None,
                      later_objects: bool = False, workers: int | None = None,
                      show_progress: bool = True) -> VosBenchmarkRun:
    """Predict every sequence of `dataset` (or the given ones) into `output` and score it.

    predictor_or_model: a `SAM2Model` (wrapped in a `masklet.VideoPredictor`) or a predictor:
      any object with the VideoPredictor's `init_state`, `add_new_mask` and `propagate`.
    max_frames: use only the first frames of each video (and score their annotations).
    later_objects: also prompt objects that first appear on later annotated frames, on
      that frame (as YouTube-VOS requires); otherwise only the first annotated frame's
      objects are tracked.
    """
    predictor = _video_predictor(predictor_or_model)
    data = open_vos_dataset(dataset)
    names = sequences or data.sequence_names()
    output = Path(output)
    frames_done, seconds, scored_frames = 0, 0.0, {}
    for name in tqdm(names, desc="VOS sequences", unit="seq", disable=not show_progress):
        sequence = data.sequence(name).first_frames(max_frames)
        start = time.perf_counter()
        predict_sequence(predictor, sequence, output / name, later_objects)
        seconds += time.perf_counter() - start
        frames_done += len(sequence.frames)
        scored_frames[name] = {frame.stem for frame in sequence.frames}
    results = evaluate_vos(data.annotation_root, output, names, workers=workers, only_frames=scored_frames)
    write_results(results, output / "results.json")
    return VosBenchmarkRun(results, frames_done, seconds)


def predict_sequence(predictor, sequence: VosSequence, out_dir: Path, later_objects: bool = False) -> None:
    """Track the sequence's objects and write one label PNG per frame into `out_dir`. A
    Masklet `VideoPredictor` tracks with bounded memory: one pass from the first prompt reads
    only what that keeps, so long videos give the same masks without their state growing."""
    from masklet.io.video import open_video
    from masklet.predict.video import VideoPredictor

    prompts = sequence.object_prompts(later_objects)
    written = set()
    if prompts:
        with open_video([str(p) for p in sequence.frames]) as video:
            if isinstance(predictor, VideoPredictor):
                state = predictor.init_state(video, bounded_memory=True)
            else:
                state = predictor.init_state(video)
            for obj_id, prompt in prompts.items():
                predictor.add_new_mask(state, prompt.frame_idx, obj_id, prompt.mask)
            for result in predictor.propagate(state):
                write_davis_png(out_dir / f"{sequence.frames[result.frame_idx].stem}.png", label_map(result, prompts))
                written.add(result.frame_idx)
    blank = np.zeros(sequence.frame_size(), np.uint8)
    for frame_idx, frame in enumerate(sequence.frames):
        if frame_idx not in written:
            write_davis_png(out_dir / f"{frame.stem}.png", blank)


def label_map(result: FrameResult, prompts: dict[int, ObjectPrompt]) -> np.ndarray:
    """[H, W] uint8 (`logits_to_label_map`): each pixel the id of the object with the highest
    logit among those above the mask threshold and already prompted by this frame, else 0."""
    started = [k for k, obj_id in enumerate(result.obj_ids) if prompts[obj_id].frame_idx <= result.frame_idx]
    logits = to_numpy(result.logits)[started]  # [started objects, H, W]
    return logits_to_label_map(logits, [result.obj_ids[k] for k in started], result.mask_threshold)


def _video_predictor(predictor_or_model):
    from masklet.model.sam2 import SAM2Model
    from masklet.predict.video import VideoPredictor

    if isinstance(predictor_or_model, SAM2Model):
        return VideoPredictor(predictor_or_model, show_progress=False)
    if all(hasattr(predictor_or_model, name) for name in ("init_state", "add_new_mask", "propagate")):
        return predictor_or_model
    raise TypeError(
        f"expected a masklet VideoPredictor or SAM2Model, got {type(predictor_or_model).__name__}; "
        "load one with masklet.load_model(...)"
    )
