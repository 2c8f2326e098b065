"""SAM 2's training losses.

Per object and per prediction step (the first prompt and each correction round):
  focal  sigmoid focal loss (alpha 0.25, gamma 2), mean over pixels        weight 20
  dice   1 - (2 |P.G| + 1) / (|P| + |G| + 1) on sigmoid probabilities       weight 1
  iou    L1 between the predicted IoU and the real IoU of the binarised mask weight 1
  score  BCE of the object-score logit against "the object is visible"      weight 1
With several candidate masks (multimask output) only the one with the lowest focal x 20 +
dice is supervised for focal and dice; the IoU head learns all of them. Mask losses count
only objects visible in the ground truth (an absent object has nothing to segment; its
score loss teaches the occlusion head). Each term is summed over objects and divided by the
number of objects; the steps' losses are summed.

A Masklet option, `single_mask` (0 by default, SAM 2's rule): on steps with multimask output
(a lone click, or a tracked frame), the single-mask token's output is decoded too and its four terms are added
with this factor. Without it that token, which answers every later click, learns only on
steps with two or more clicks or a box, and a weakly trained model lets it go empty
(logits just below 0 everywhere) where a multimask token still finds the object.

One departure from the reference trainer: mask losses see the decoder's logits before the
occlusion gate (which sets every logit of an object judged absent to -1024). Gated, a visible
object whose score head errs gets a constant ~5,000 focal loss and no mask gradient at all;
ungated, its mask keeps learning while the score loss fixes the gate.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class LossWeights:
    focal: float = 20.0
    dice: float = 1.0
    iou: float = 1.0
    score: float = 1.0
    focal_alpha: float = 0.25
    focal_gamma: float = 2.0
    single_mask: float = 0.0  # factor on the single-mask token's terms at lone-click steps (see above)


def sigmoid_focal_loss(logits: torch.Tensor, targets: torch.Tensor, alpha: float = 0.25, gamma: float = 2.0) -> torch.Tensor:
    """logits, targets [O, M, H, W] -> [O, M]: focal loss averaged over pixels.
    alpha < 0 disables the class balancing."""
    prob = logits.sigmoid()
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_true = prob * targets + (1 - prob) * (1 - targets)
    loss = ce * (1 - p_true) ** gamma
    if alpha >= 0:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    return loss.flatten(2).mean(-1)


def dice_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """logits, targets [O, M, H, W] -> [O, M]: 1 - smoothed Dice of the probabilities."""
    prob = logits.sigmoid().flatten(2)
    targets = targets.flatten(2)
    overlap = (prob * targets).sum(-1)
    return 1 - (2 * overlap + 1) / (prob.sum(-1) + targets.sum(-1) + 1)


def mask_iou(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The real IoU [O, M] of the masks `logits > 0` with `targets` [O, M, H, W]
    (1 when both are empty)."""
    pred = (logits > 0).flatten(2).float()
    targets = targets.flatten(2)
    overlap = (pred * targets).sum(-1)
    union = pred.sum(-1) + targets.sum(-1) - overlap
    return torch.where(union > 0, overlap / union.clamp(min=1), torch.ones_like(union))


def step_losses(
    mask_logits: torch.Tensor,
    pred_ious: torch.Tensor,
    object_score_logits: torch.Tensor,
    targets: torch.Tensor,
    weights: LossWeights = LossWeights(),
) -> dict[str, torch.Tensor]:
    """Losses of one prediction step.

    mask_logits [O, M, H, W] (M candidate masks, at the targets' resolution); pred_ious [O, M];
    object_score_logits [O, 1]; targets [O, H, W] bool. Returns the four weighted terms
    (already divided by O) and their sum under "total".
    """
    num_objects = max(targets.shape[0], 1)
    targets = targets[:, None].to(mask_logits.dtype).expand_as(mask_logits)
    visible = targets.flatten(1).any(dim=1).to(mask_logits.dtype)  # [O]
    focal = sigmoid_focal_loss(mask_logits, targets, weights.focal_alpha, weights.focal_gamma)  # [O, M]
    dice = dice_loss(mask_logits, targets)
    best = (focal * weights.focal + dice * weights.dice).argmin(dim=1, keepdim=True)  # [O, 1]
    focal = focal.gather(1, best)[:, 0]
    dice = dice.gather(1, best)[:, 0]
    iou = F.l1_loss(pred_ious.float(), mask_iou(mask_logits, targets), reduction="none").mean(dim=1)
    score = F.binary_cross_entropy_with_logits(
        object_score_logits[:, 0].float(), visible, reduction="none"
    )
    terms = {
        "focal": weights.focal * (focal * visible).sum() / num_objects,
        "dice": weights.dice * (dice * visible).sum() / num_objects,
        "iou": weights.iou * (iou * visible).sum() / num_objects,
        "score": weights.score * score.sum() / num_objects,
    }
    terms["total"] = sum(terms.values())
    return terms
