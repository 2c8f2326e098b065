"""ClipUnroller's options that change what is supervised."""

import torch
from tiny_training import MovingDiskSampler, register_tiny

import masklet
from masklet.train.losses import LossWeights
from masklet.train.unroll import ClipUnroller, PromptSimulation

# One frame, one click, no corrections: the one step has multimask output.
LONE_CLICK = PromptSimulation(prob_mask_prompt=0.0, prob_box=0.0, max_first_clicks=1, correction_rounds=0)


def _lone_click_losses(model, single_mask: float):
    model.zero_grad()
    batch = MovingDiskSampler().batch(0, 2, 1, model.image_size, 1)
    unroller = ClipUnroller(model, LONE_CLICK, LossWeights(single_mask=single_mask))
    totals = unroller.losses(batch, torch.Generator().manual_seed(0))
    totals["total"].backward()
    single_token_head = model.sam_mask_decoder.output_hypernetworks_mlps[0]
    grad = sum(float(p.grad.abs().sum()) for p in single_token_head.parameters() if p.grad is not None)
    return totals, grad


def test_single_mask_weight_trains_the_single_mask_token_on_lone_clicks():
    torch.manual_seed(0)
    model = masklet.build_model(register_tiny())
    model.train()
    sam_rule, sam_grad = _lone_click_losses(model, 0.0)
    half, half_grad = _lone_click_losses(model, 0.5)
    full, full_grad = _lone_click_losses(model, 1.0)
    # SAM 2's rule: the single-mask token's head gets no gradient from a lone click.
    assert sam_grad == 0.0
    assert half_grad > 0.0
    # Its terms are added with the factor: total(f) = total(0) + f * single-token terms.
    for key in ("focal", "dice", "iou", "score", "total"):
        single_terms = full[key] - sam_rule[key]
        assert float(single_terms.detach()) > 0.0 or key == "iou"
        torch.testing.assert_close(half[key], sam_rule[key] + 0.5 * single_terms, rtol=1e-5, atol=1e-6)
