"""Scoring a folder of VOS predictions against ground truth.

Layouts:
  davis  `<root>/<sequence>/<frame>.png`, one indexed PNG per frame whose pixel value is the
         object id (0 background, 255 void). DAVIS-2016 grayscale 0/255 annotations are one
         object. The first and last frames are not scored (semi-supervised protocol).
  sav    `<root>/<video>/<object>/<frame>.png`, one binary PNG per object and annotated frame
         (as the SA-V evaluator): each object is scored on its own annotated frames, less its
         first and last, so objects that appear later are scored from their appearance on.
"""

from __future__ import annotations

import csv
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from masklet.eval.vos_metrics import boundary_measure, region_similarity, statistics

VOID = 255


def read_label_map(path: Path) -> np.ndarray:
    """An annotation / prediction PNG as an [H, W] uint8 label map."""
    try:
        with Image.open(path) as img:
            labels = np.asarray(img if img.mode in ("P", "L") else img.convert("L"))
    except OSError as e:
        raise ValueError(f"{path}: not a readable PNG ({e})") from None
    return labels


def _frames(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.png"))


def _object_masks(labels: np.ndarray, object_ids: list[int], single_object: bool) -> np.ndarray:
    """[objects, H, W] masks; a single-object (0/255) annotation or its prediction is
    binarised as label > 0."""
    if single_object:
        return (labels > 0)[None]
    return np.stack([labels == i for i in object_ids])


def score_sequence(gt_dir: Path, pred_dir: Path) -> dict:
    """Per-object J and F statistics of one sequence."""
    gt_frames = _frames(gt_dir)
    if len(gt_frames) < 3:
        raise ValueError(f"{gt_dir}: needs at least 3 annotated frames, found {len(gt_frames)}")
    scored = gt_frames[1:-1]
    first = read_label_map(gt_frames[0])
    # Objects: every label seen in the ground truth (0/255-only annotations = one object).
    ids = sorted({int(v) for f in gt_frames for v in np.unique(read_label_map(f))} - {0, VOID})
    single = set(np.unique(first).tolist()) <= {0, 255} and ids == []
    object_ids = [1] if single else ids
    j_rows, f_rows = [], []
    for frame in scored:
        pred_path = pred_dir / frame.name
        if not pred_path.exists():
            raise ValueError(f"missing prediction {pred_path} (every annotated frame needs one)")
        gt = read_label_map(frame)
        pred = read_label_map(pred_path)
        if pred.shape != gt.shape:
            raise ValueError(f"{pred_path}: size {pred.shape[::-1]} differs from the annotation's {gt.shape[::-1]}")
        void = None if single else gt == VOID
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


def score_sav_video(gt_dir: Path, pred_dir: Path) -> dict:
    """Per-object J and F statistics of one video in the SA-V per-object layout."""
    object_dirs = sorted(p for p in gt_dir.iterdir() if p.is_dir())
    if not object_dirs:
        raise ValueError(f"{gt_dir}: no per-object folders (expected <video>/<object>/<frame>.png)")
    objects = {}
    frames_scored = 0
    for obj_dir in object_dirs:
        scored = _frames(obj_dir)[1:-1]
        j_values, f_values = [], []
        for frame in scored:
            pred_path = pred_dir / obj_dir.name / frame.name
            if not pred_path.exists():
                raise ValueError(f"missing prediction {pred_path} (every annotated frame needs one)")
            truth, pred = read_label_map(frame) > 0, read_label_map(pred_path) > 0
            if pred.shape != truth.shape:
                raise ValueError(f"{pred_path}: size {pred.shape[::-1]} differs from the annotation's {truth.shape[::-1]}")
            j_values.append(float(region_similarity(truth, pred)))
            f_values.append(boundary_measure(truth, pred))
        frames_scored += len(scored)
        if scored:
            objects[obj_dir.name] = {"J": statistics(np.array(j_values)), "F": statistics(np.array(f_values))}
    summary = {
        m: {s: float(np.mean([o[m][s] for o in objects.values()])) for s in ("mean", "recall", "decay")}
        for m in ("J", "F")
    }
    return {**summary, "objects": objects, "frames": frames_scored}


SCORERS = {"davis": score_sequence, "sav": score_sav_video}


def evaluate_vos(gt_root: str | Path, pred_root: str | Path, sequences: list[str] | None = None,
                 workers: int | None = None, format: str = "davis") -> dict:
    """Score every sequence of `pred_root` (or the given ones) against `gt_root`.

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
    missing = [n for n in names if not (gt_root / n).is_dir()]
    if missing:
        raise ValueError(f"no ground truth for sequences {missing} under {gt_root}")
    with ProcessPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(SCORERS[format], [gt_root / n for n in names], [pred_root / n for n in names]))
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
