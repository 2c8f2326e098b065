"""Evaluation: video object segmentation metrics (J, F, J&F) matching the DAVIS evaluator."""

from masklet.eval.vos import evaluate_vos
from masklet.eval.vos_metrics import boundary_measure, region_similarity, statistics

__all__ = ["boundary_measure", "evaluate_vos", "region_similarity", "statistics"]
