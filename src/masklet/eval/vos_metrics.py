"""Video object segmentation metrics as the DAVIS evaluator defines them.

J: region similarity (IoU; 1 when prediction and truth are both empty), void pixels ignored.
F: boundary F-measure: one-pixel boundaries (BSDS seg2bmap) matched within a disk of radius
   ceil(0.008 x image diagonal).
Per object over frames: mean, recall (fraction of frames above 0.5) and decay (mean of the
first quarter of frames minus mean of the last quarter).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import ndimage

BOUNDARY_TOLERANCE = 0.008


def region_similarity(truth: np.ndarray, pred: np.ndarray, void: np.ndarray | None = None) -> np.ndarray:
    """J for masks [..., H, W] (bool) -> [...]."""
    truth, pred = _check_pair(truth, pred)
    inter, union = truth & pred, truth | pred
    if void is not None:
        keep = ~void.astype(bool)
        inter, union = inter & keep, union & keep
    inter_n = inter.sum(axis=(-2, -1))
    union_n = union.sum(axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union_n == 0, 1.0, inter_n / np.maximum(union_n, 1))


def boundary_map(mask: np.ndarray) -> np.ndarray:
    """One-pixel-wide boundary of a binary [H, W] mask: pixels whose right, lower or
    lower-right neighbour differs (the last row/column compare within the image only)."""
    m = mask.astype(bool)
    right = np.zeros_like(m)
    below = np.zeros_like(m)
    diag = np.zeros_like(m)
    right[:, :-1] = m[:, 1:]
    below[:-1, :] = m[1:, :]
    diag[:-1, :-1] = m[1:, 1:]
    edges = (m ^ right) | (m ^ below) | (m ^ diag)
    edges[-1, :] = m[-1, :] ^ right[-1, :]
    edges[:, -1] = m[:, -1] ^ below[:, -1]
    edges[-1, -1] = False
    return edges


def _within(edges: np.ndarray, radius: float) -> np.ndarray:
    """Pixels within Euclidean distance `radius` of an edge pixel: the dilation by a disk
    {x^2 + y^2 <= r^2}, computed with a distance transform (squared distances are exact
    integers, so the comparison is exact)."""
    _, (dy, dx) = ndimage.distance_transform_edt(~edges, return_indices=True, return_distances=True)
    rows, cols = np.indices(edges.shape)
    return (dy - rows) ** 2 + (dx - cols) ** 2 <= radius**2


def boundary_measure(truth: np.ndarray, pred: np.ndarray, void: np.ndarray | None = None,
                     tolerance: float = BOUNDARY_TOLERANCE) -> float:
    """F for one pair of [H, W] masks."""
    truth, pred = _check_pair(truth, pred)
    if void is not None:
        keep = ~void.astype(bool)
        pred, truth = pred & keep, truth & keep
    radius = tolerance if tolerance >= 1 else math.ceil(tolerance * math.hypot(*truth.shape))
    pred_edges, truth_edges = boundary_map(pred), boundary_map(truth)
    n_pred, n_truth = int(pred_edges.sum()), int(truth_edges.sum())
    if n_pred == 0 and n_truth == 0:
        return 1.0
    if n_pred == 0 or n_truth == 0:
        return 0.0
    pred_near = _within(pred_edges, radius)
    truth_near = _within(truth_edges, radius)
    precision = np.sum(pred_edges & truth_near) / n_pred
    recall = np.sum(truth_edges & pred_near) / n_truth
    if precision + recall == 0:
        return 0.0
    return float(2 * precision * recall / (precision + recall))


def statistics(per_frame: np.ndarray) -> dict[str, float]:
    """Mean, recall (> 0.5) and decay (first-quarter mean - last-quarter mean) of one object's
    per-frame scores (NaN frames, where the object is not evaluated, are skipped)."""
    values = np.asarray(per_frame, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = float(np.nanmean(values))
        recall = float(np.mean(values > 0.5))  # as the DAVIS evaluator: unscored frames count as misses
        edges = (np.round(np.linspace(1, len(values), 5) + 1e-10) - 1).astype(int)
        bins = [values[edges[i] : edges[i + 1] + 1] for i in range(4)]
        decay = float(np.nanmean(bins[0]) - np.nanmean(bins[3]))
    return {"mean": mean, "recall": recall, "decay": decay}


def _check_pair(truth: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if truth.shape != pred.shape:
        raise ValueError(
            f"prediction of shape {pred.shape} does not match ground truth of shape {truth.shape}; "
            "predictions must be at the annotation's resolution"
        )
    return truth.astype(bool), pred.astype(bool)
