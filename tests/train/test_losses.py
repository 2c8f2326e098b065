"""The SAM 2 losses against values computed by hand."""

import math

import pytest
import torch

from masklet.train.losses import LossWeights, dice_loss, mask_iou, sigmoid_focal_loss, step_losses


def test_focal_loss_of_single_pixels():
    # p = sigmoid(0) = 0.5 on a positive pixel: CE = ln 2, (1 - p_t)^2 = 1/4, alpha = 0.25
    logits = torch.zeros(1, 1, 1, 1)
    assert sigmoid_focal_loss(logits, torch.ones_like(logits)).item() == pytest.approx(0.25 * 0.25 * math.log(2))
    # negative pixel with logit 2: p = sigmoid(2), CE = ln(1 + e^2), p_t = 1 - p, weight 0.75
    logits = torch.full((1, 1, 1, 1), 2.0)
    p = 1 / (1 + math.exp(-2))
    expected = 0.75 * p**2 * math.log(1 + math.exp(2))
    assert sigmoid_focal_loss(logits, torch.zeros_like(logits)).item() == pytest.approx(expected, rel=1e-6)


def test_focal_loss_averages_over_pixels():
    logits = torch.tensor([[[[0.0, 2.0]]]])
    targets = torch.tensor([[[[1.0, 0.0]]]])
    p = 1 / (1 + math.exp(-2))
    expected = (0.25 * 0.25 * math.log(2) + 0.75 * p**2 * math.log(1 + math.exp(2))) / 2
    assert sigmoid_focal_loss(logits, targets).item() == pytest.approx(expected, rel=1e-6)


def test_dice_loss_by_hand():
    # probabilities 0.5 everywhere on 4 pixels, 2 of them object: 1 - (2*1 + 1) / (2 + 2 + 1)
    logits = torch.zeros(1, 1, 2, 2)
    targets = torch.tensor([[[[1.0, 1.0], [0.0, 0.0]]]])
    assert dice_loss(logits, targets).item() == pytest.approx(1 - 3 / 5)
    # a confident perfect prediction has (almost) zero dice loss
    assert dice_loss(targets * 40 - 20, targets).item() == pytest.approx(0, abs=1e-6)


def test_mask_iou_including_empty_masks():
    logits = torch.tensor([[[[1.0, 1.0], [1.0, -1.0]]]])
    targets = torch.tensor([[[[1.0, 1.0], [0.0, 0.0]]]])
    assert mask_iou(logits, targets).item() == pytest.approx(2 / 3)
    assert mask_iou(-torch.ones(1, 1, 2, 2), torch.zeros(1, 1, 2, 2)).item() == 1.0


def test_step_losses_supervise_the_best_of_three_masks_and_weight_terms():
    truth = torch.tensor([[[True, True], [False, False]]])  # [O=1, 2, 2]
    good = truth[0].float() * 20 - 10
    masks = torch.stack([-good, good, torch.zeros(2, 2)])[None]  # [1, 3, 2, 2]; mask 1 is right
    ious = torch.tensor([[0.0, 1.0, 0.5]])
    score = torch.tensor([[3.0]])
    terms = step_losses(masks, ious, score, truth)
    target = truth[:, None].float()
    focal = sigmoid_focal_loss(masks[:, 1:2], target)[0, 0]
    dice = dice_loss(masks[:, 1:2], target)[0, 0]
    # real IoUs: mask 0 = 0 (its positive pixels are the wrong half), mask 1 = 1, mask 2 = 0 (empty)
    iou = (abs(0.0 - 0.0) + abs(1.0 - 1.0) + abs(0.5 - 0.0)) / 3
    bce = math.log(1 + math.exp(-3))
    assert terms["focal"].item() == pytest.approx(20 * focal.item(), rel=1e-5)
    assert terms["dice"].item() == pytest.approx(dice.item(), rel=1e-5)
    assert terms["iou"].item() == pytest.approx(iou, rel=1e-6)
    assert terms["score"].item() == pytest.approx(bce, rel=1e-6)
    assert terms["total"].item() == pytest.approx(sum(terms[k].item() for k in ("focal", "dice", "iou", "score")))


def test_absent_objects_only_train_the_object_score():
    truth = torch.zeros(2, 4, 4, dtype=torch.bool)
    truth[0, :2] = True  # object 0 visible, object 1 absent
    masks = torch.randn(2, 1, 4, 4, requires_grad=True)
    ious = torch.rand(2, 1)
    scores = torch.tensor([[1.0], [2.0]])
    terms = step_losses(masks, ious, scores, truth, LossWeights())
    terms["total"].backward()
    assert masks.grad[1].abs().sum() == 0 and masks.grad[0].abs().sum() > 0
    # the absent object's score loss: BCE(2, 0) = ln(1 + e^2), divided by 2 objects with the other's
    expected = (math.log(1 + math.exp(-1)) + math.log(1 + math.exp(2))) / 2
    assert terms["score"].item() == pytest.approx(expected, rel=1e-6)
