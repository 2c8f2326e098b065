"""Figures of J&F-per-interaction curves.

  AUC: the area under the J&F curve over interactions 1..n by the trapezoid rule, divided by
       n - 1 (the width of that range), so a flat curve at v has AUC v; for n = 1 it is the
       J&F after the first interaction. n is the protocol's --max-interactions for every
       method, also for a baseline run with a larger budget.
  interactions to target: the first interaction after which the video's J&F is at least the
       target; None ("not reached") when no interaction of the budget reaches it. Means over
       objects count "not reached" as budget + 1, so a mean with unreached objects is a lower
       bound.
  ratio: a baseline's mean interactions to target divided by the method's: exact when every
       object reached the target with both; at least (baseline bound) when only the baseline
       missed it on some object; at most when only the method did; not formed when both did.
  ratio at the method's best: the same, with each object's own target set to the best J&F
       the method reaches on it within its budget (the method needs the interactions until
       its first best point), so it is formed whenever the baseline's figure is: exact, or at
       least when the baseline never reaches that J&F on some object.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Sequence

import numpy as np


def area_under_curve(curve: Sequence[float], interactions: int) -> float:
    if interactions < 1 or len(curve) < interactions:
        raise ValueError(f"a curve of {len(curve)} points has no AUC over {interactions} interactions")
    values = np.asarray(curve[:interactions], np.float64)
    if interactions == 1:
        return float(values[0])
    return float((values[:-1] + values[1:]).sum() / 2 / (interactions - 1))


def interactions_to_reach(curve: Sequence[float], target: float) -> int | None:
    return next((k for k, value in enumerate(curve, 1) if value >= target), None)


@dataclass(frozen=True)
class CurveSummary:
    """The figures of one method over some objects (a video's, or all)."""

    curve: list[float]  # mean J&F over the objects after interaction 1, 2, ... (its budget)
    auc: float  # of the mean curve over the protocol's interactions
    interactions_to_target: float  # mean over objects, "not reached" counted as budget + 1
    reached: int  # objects that reached the target
    objects: int

    @property
    def all_reached(self) -> bool:
        return self.reached == self.objects


def summarize_curves(curves: list[list[float]], target: float, auc_interactions: int) -> CurveSummary:
    if not curves:
        raise ValueError("no curves to summarize")
    budget = len(curves[0])
    mean = np.mean(np.asarray(curves, np.float64), axis=0).tolist()
    needed = [interactions_to_reach(c, target) for c in curves]
    counted = [budget + 1 if n is None else n for n in needed]
    return CurveSummary(mean, area_under_curve(mean, auc_interactions), float(np.mean(counted)),
                        sum(n is not None for n in needed), len(curves))


class Bound(str, Enum):
    EXACT = "exact"
    AT_LEAST = "at least"
    AT_MOST = "at most"
    NONE = "not formed"


@dataclass(frozen=True)
class InteractionRatio:
    value: float | None
    bound: Bound

    def __str__(self) -> str:
        if self.value is None:
            return "n/a"
        prefix = {Bound.EXACT: "", Bound.AT_LEAST: ">= ", Bound.AT_MOST: "<= "}[self.bound]
        return f"{prefix}{self.value:.2f}x"


def interaction_ratio(baseline: CurveSummary, method: CurveSummary) -> InteractionRatio:
    if not baseline.all_reached and not method.all_reached:
        return InteractionRatio(None, Bound.NONE)
    value = baseline.interactions_to_target / method.interactions_to_target
    if not method.all_reached:
        return InteractionRatio(value, Bound.AT_MOST)
    return InteractionRatio(value, Bound.EXACT if baseline.all_reached else Bound.AT_LEAST)


def ratio_at_method_best(baseline_curves: list[list[float]], method_curves: list[list[float]]) -> InteractionRatio:
    """Baseline interactions over the method's, per object at the best J&F of the method's curve."""
    if len(baseline_curves) != len(method_curves) or not method_curves:
        raise ValueError(f"{len(baseline_curves)} baseline curves for {len(method_curves)} method curves")
    method_needed, baseline_needed, missed = [], [], False
    for baseline, method in zip(baseline_curves, method_curves):
        best = max(method)
        method_needed.append(interactions_to_reach(method, best))
        reached = interactions_to_reach(baseline, best)
        missed |= reached is None
        baseline_needed.append(len(baseline) + 1 if reached is None else reached)
    value = float(np.mean(baseline_needed) / np.mean(method_needed))
    return InteractionRatio(value, Bound.AT_LEAST if missed else Bound.EXACT)
