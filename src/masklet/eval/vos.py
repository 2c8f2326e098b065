"""Scoring a folder of VOS predictions against ground truth.

Layouts:
  davis  `<root>/<sequence>/<frame>.png`, one indexed PNG per frame whose pixel value is the
         object id (0 background, 255 void). DAVIS-2016 grayscale 0/255 annotations are one
         object. The first and last frames are not scored (semi-supervised protocol).
  sav    `<root>/<video>/<object>/<frame>.png`, one binary PNG per object and annotated frame
         (as the SA-V evaluator): each object is scored on its own annotated frames, less its
         first and last, so objects that appear later are scored from their appearance on.
  sav-json  ground truth as SA-V annotation files `<root>/<video>_manual.json` (COCO RLE per
         annotated frame), scored exactly as the `sav` layout holding each object's masks from
         the annotated frame where it first appears; predictions in the `sav` layout, named
         `<video>/<object id, 3 digits>/<video frame, 5 digits>.png` (SA-V annotates every 4th
         frame: 00000, 00004, ...).

A missing prediction for a scored frame is an error naming the file, as in the DAVIS
evaluator; objects in the predictions that the ground truth does not have are ignored.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Collection
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np

from masklet.eval.vos_metrics import boundary_measure, region_similarity, statistics
from masklet.io.davis import VOID_ID, read_davis_png
from masklet.io.rle import rle_decode
from masklet.io.sav import SAV_FRAME_STRIDE, read_sav_json


def _frames(folder: Path, only_frames: Collection[str] | None = None) -> list[Path]:
    """The PNGs of a folder in order; only those whose stem is in `only_frames` if given."""
    frames = sorted(folder.glob("*.png"))
    return frames if only_frames is None else [f for f in frames if f.stem in only_frames]


def _object_masks(labels: np.ndarray, object_ids: list[int], single_object: bool) -> np.ndarray:
    """[objects, H, W] masks; a single-object (0/255) annotation or its prediction is
    binarised as label > 0."""
    if single_object:
        return (labels > 0)[None]
    return np.stack([labels == i for i in object_ids])


def score_sequence(gt_dir: Path, pred_dir: Path, only_frames: Collection[str] | None = None) -> dict:
    """Per-object J and F statistics of one sequence (of its annotations `only_frames` if given)."""
    gt_frames = _frames(gt_dir, only_frames)
    if len(gt_frames) < 3:
        raise ValueError(f"{gt_dir}: needs at least 3 annotated frames, found {len(gt_frames)}")
    scored = gt_frames[1:-1]
    first = read_davis_png(gt_frames[0])
    # Objects: every label seen in the ground truth (0/255-only annotations = one object).
    ids = sorted({int(v) for f in gt_frames for v in np.unique(read_davis_png(f))} - {0, VOID_ID})
    single = set(np.unique(first).tolist()) <= {0, 255} and ids == []
    object_ids = [1] if single else ids
    j_rows, f_rows = [], []
    for frame in scored:
        pred_path = pred_dir / frame.name
        if not pred_path.exists():
            raise ValueError(f"missing prediction {pred_path} (every annotated frame needs one)")
        gt = read_davis_png(frame)
        pred = read_davis_png(pred_path)
        if pred.shape != gt.shape:
            raise ValueError(f"{pred_path}: size {pred.shape[::-1]} differs from the annotation's {gt.shape[::-1]}")
        void = None if single else gt == VOID_ID
        truth = _object_masks(gt, object_ids, single)
        # A single-object truth is compared with the binarised prediction.
        guess = _object_masks(pred, object_ids, single)
        j_rows.append(region_similarity(truth, guess, void))
        f_rows.append([boundary_measure(t, g, void) for t, g in zip(truth, guess)])
    j = np.array(j_rows).T  # [objects, frames]
    f = np.array(f_rows).T
    objects = {
        str(oid): {"J": statistics(j[i]), "F": statistics(f[i])} for i, oid in enumerate(object_ids)
    }
    summary = {
        m: {s: float(np.mean([o[m][s] for o in objects.values()])) for s in ("mean", "recall", "decay")}
        for m in ("J", "F")
    }
    return {**summary, "objects": objects, "frames": len(scored)}


def score_sav_video(gt_dir: Path, pred_dir: Path, only_frames: Collection[str] | None = None) -> dict:
    """Per-object J and F statistics of one video in the SA-V per-object layout."""
    object_dirs = sorted(p for p in gt_dir.iterdir() if p.is_dir())
    if not object_dirs:
        raise ValueError(f"{gt_dir}: no per-object folders (expected <video>/<object>/<frame>.png)")
    truth = {
        obj_dir.name: [(f.name, partial(_read_binary, f)) for f in _frames(obj_dir, only_frames)]
        for obj_dir in object_dirs
    }
    return _score_sav_objects(truth, pred_dir)


def score_sav_json(gt_json: Path, pred_dir: Path, only_frames: Collection[str] | None = None) -> dict:
    """Per-object J and F statistics of one video whose ground truth is an SA-V JSON file."""
    video = read_sav_json(gt_json)
    first = video.first_appearance()
    truth = {}
    for k, obj_id in enumerate(video.object_ids):
        if obj_id not in first:
            continue  # never visible: the PNG layout has no folder for it
        stems = {t: f"{t * SAV_FRAME_STRIDE:05d}" for t in range(first[obj_id], video.num_annotated_frames)}
        truth[f"{obj_id:03d}"] = [
            (f"{stem}.png", partial(rle_decode, video.masklet[t][k]))
            for t, stem in stems.items()
            if only_frames is None or stem in only_frames
        ]
    return _score_sav_objects(truth, pred_dir)


def _read_binary(path: Path) -> np.ndarray:
    return read_davis_png(path) > 0


def _score_sav_objects(truth: dict[str, list[tuple[str, Callable[[], np.ndarray]]]], pred_dir: Path) -> dict:
    """Score each object on its annotated frames less the first and last. `truth` maps an
    object's folder name to its (frame file name, loader of the true mask) in frame order."""
    objects = {}
    frames_scored = 0
    for obj_name, annotated in truth.items():
        scored = annotated[1:-1]
        j_values, f_values = [], []
        for frame_name, load_truth in scored:
            pred_path = pred_dir / obj_name / frame_name
            if not pred_path.exists():
                raise ValueError(f"missing prediction {pred_path} (every annotated frame needs one)")
            true_mask, pred = np.asarray(load_truth(), dtype=bool), _read_binary(pred_path)
            if pred.shape != true_mask.shape:
                raise ValueError(f"{pred_path}: size {pred.shape[::-1]} differs from the annotation's {true_mask.shape[::-1]}")
            j_values.append(float(region_similarity(true_mask, pred)))
            f_values.append(boundary_measure(true_mask, pred))
        frames_scored += len(scored)
        if scored:
            objects[obj_name] = {"J": statistics(np.array(j_values)), "F": statistics(np.array(f_values))}
    summary = {
        m: {s: float(np.mean([o[m][s] for o in objects.values()])) for s in ("mean", "recall", "decay")}
        for m in ("J", "F")
    }
    return {**summary, "objects": objects, "frames": frames_scored}


SCORERS = {"davis": score_sequence, "sav": score_sav_video, "sav-json": score_sav_json}


def _ground_truth_path(gt_root: Path, name: str, format: str) -> Path:
    return gt_root / f"{name}_manual.json" if format == "sav-json" else gt_root / name


def evaluate_vos(gt_root: str | Path, pred_root: str | Path, sequences: list[str] | None = None,
                 workers: int | None = None, format: str = "davis",
                 only_frames: dict[str, Collection[str]] | None = None) -> dict:
    """Score every sequence of `pred_root` (or the given ones) against `gt_root`.

    `only_frames` maps a sequence to the frame names (stems) whose annotations are scored
    (for runs on the first frames of each video); by default all are.
    Returns {"sequences": {name: {"J": {mean, recall, decay}, "F": {...}, "objects": {...}}},
    "global": {"J", "F", "J&F"}} in fractions; global means average over all objects.
    """
    if format not in SCORERS:
        raise ValueError(f"unknown layout {format!r}; use one of {sorted(SCORERS)}")
    gt_root, pred_root = Path(gt_root), Path(pred_root)
    for root, what in ((gt_root, "ground truth"), (pred_root, "predictions")):
        if not root.is_dir():
            raise ValueError(f"{what} folder {root} does not exist")
    names = sequences or sorted(p.name for p in pred_root.iterdir() if p.is_dir())
    if not names:
        raise ValueError(f"no sequence folders in {pred_root}")
    gt_paths = [_ground_truth_path(gt_root, n, format) for n in names]
    missing = [p.name for p in gt_paths if not p.exists()]
    if missing:
        raise ValueError(f"no ground truth {missing} under {gt_root}")
    frame_sets = [None if only_frames is None else only_frames[n] for n in names]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(SCORERS[format], gt_paths, [pred_root / n for n in names], frame_sets))
    per_seq = dict(zip(names, results))
    objects = [o for r in results for o in r["objects"].values()]
    j = float(np.mean([o["J"]["mean"] for o in objects]))
    f = float(np.mean([o["F"]["mean"] for o in objects]))
    return {"sequences": per_seq, "global": {"J": j, "F": f, "J&F": (j + f) / 2}}


def write_results(results: dict, path: str | Path) -> tuple[Path, Path]:
    """results.json plus a per-sequence CSV beside it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2))
    csv_path = path.with_suffix(".csv")
    with csv_path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["sequence", "J-mean", "J-recall", "J-decay", "F-mean", "F-recall", "F-decay"])
        for name, r in results["sequences"].items():
            writer.writerow([name] + [f"{r[m][s]:.4f}" for m in ("J", "F") for s in ("mean", "recall", "decay")])
    return path, csv_path
