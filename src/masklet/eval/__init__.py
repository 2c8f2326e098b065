"""Evaluation: VOS metrics (J, F, J&F matching the DAVIS evaluator), a VOS benchmark runner and
class-agnostic mask AP."""

from masklet.eval.mask_ap import evaluate_mask_ap
from masklet.eval.run_vos import run_vos_benchmark
from masklet.eval.vos import evaluate_vos
from masklet.eval.vos_metrics import boundary_measure, region_similarity, statistics

__all__ = [
    "boundary_measure", "evaluate_mask_ap", "evaluate_vos", "region_similarity",
    "run_vos_benchmark", "statistics",
]
