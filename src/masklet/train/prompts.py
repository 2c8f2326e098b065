"""Simulated user prompts for training: first clicks, noisy boxes and correction clicks.

All functions work on batches of O objects with masks [O, H, W] (bool) and draw their
randomness from a `torch.Generator`, so a training step is reproducible. Points are (x, y)
in pixels of the mask grid, labels 1 (object) / 0 (background) / 2, 3 (box corners), as the
prompt encoder expects.
"""

from __future__ import annotations

import torch

from masklet.predict.prompts import BOX_BOTTOM_RIGHT, BOX_TOP_LEFT, Clicks


def _uniform_pick(regions: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """One uniformly random pixel of each region [O, H, W] -> (points [O, 2] (x, y) float,
    found [O] bool). An empty region gives the image centre and found = False."""
    num, height, width = regions.shape
    flat = regions.flatten(1).float()
    found = flat.sum(1) > 0
    noise = torch.rand(flat.shape, generator=generator, device=flat.device)
    # argmax of random keys restricted to the region = a uniform choice among its pixels
    index = torch.where(flat > 0, noise + 1, noise.new_zeros(())).argmax(1)
    points = torch.stack([index % width, index // width], dim=1).float()
    centre = points.new_tensor([(width - 1) / 2, (height - 1) / 2])
    return torch.where(found[:, None], points, centre), found


def _deepest_error_points(points: torch.Tensor, chosen: torch.Tensor, pred: torch.Tensor,
                          truth: torch.Tensor) -> torch.Tensor:
    """points [O, 2] with the rows of `chosen` [O] bool moved to the evaluation's click."""
    from masklet.eval.interactive import next_click

    points = points.clone()
    for row in chosen.nonzero()[:, 0].tolist():
        click = next_click(truth[row].cpu().numpy(), pred[row].cpu().numpy())
        points[row] = points.new_tensor([click.x, click.y])
    return points


def sample_positive_points(masks: torch.Tensor, num_points: int, generator: torch.Generator) -> Clicks:
    """`num_points` clicks drawn uniformly inside each mask -> (points [O, N, 2], labels [O, N]).
    An empty mask gets background clicks at random pixels (label 0): nothing is there to click."""
    points, labels = [], []
    for _ in range(num_points):
        inside, found = _uniform_pick(masks, generator)
        anywhere, _ = _uniform_pick(torch.ones_like(masks), generator)
        points.append(torch.where(found[:, None], inside, anywhere))
        labels.append(found.long())
    return Clicks(torch.stack(points, 1), torch.stack(labels, 1).int())


def noisy_boxes(
    masks: torch.Tensor, generator: torch.Generator, noise: float = 0.1, max_noise_px: float = 20.0
) -> Clicks:
    """Each mask's bounding box with every corner moved by up to `noise` x the box side
    (at most `max_noise_px`), kept inside the image -> (points [O, 2, 2], labels [O, 2] = 2, 3).
    Empty masks get the whole image."""
    num, height, width = masks.shape
    rows, cols = masks.any(2), masks.any(1)  # [O, H], [O, W]
    ys = torch.arange(height, device=masks.device).float()
    xs = torch.arange(width, device=masks.device).float()
    big = float(max(height, width))
    x0 = torch.where(cols, xs, big).amin(1)
    x1 = torch.where(cols, xs, -1.0).amax(1)
    y0 = torch.where(rows, ys, big).amin(1)
    y1 = torch.where(rows, ys, -1.0).amax(1)
    empty = ~cols.any(1)
    x0, y0 = torch.where(empty, 0.0, x0), torch.where(empty, 0.0, y0)
    x1, y1 = torch.where(empty, width - 1.0, x1), torch.where(empty, height - 1.0, y1)
    box = torch.stack([x0, y0, x1, y1], 1)  # [O, 4]
    side = torch.stack([x1 - x0, y1 - y0, x1 - x0, y1 - y0], 1)
    limit = (side * noise).clamp(max=max_noise_px)
    jitter = (torch.rand(box.shape, generator=generator, device=box.device) * 2 - 1) * limit
    box = box + jitter
    box[:, 0::2] = box[:, 0::2].clamp(0, width - 1)
    box[:, 1::2] = box[:, 1::2].clamp(0, height - 1)
    points = box.view(num, 2, 2)
    labels = torch.tensor([BOX_TOP_LEFT, BOX_BOTTOM_RIGHT], dtype=torch.int32, device=masks.device).expand(num, 2)
    return Clicks(points, labels)


def correction_clicks(
    pred: torch.Tensor, truth: torch.Tensor, generator: torch.Generator, centre_prob: float = 0.0
) -> Clicks:
    """One correction click per object, drawn uniformly from its error region: a positive click
    on a missed pixel (false negative) or a negative one on a wrong pixel (false positive).
    With probability `centre_prob` per object the click goes where the interactive evaluation's
    simulated user clicks instead (`masklet.eval.interactive.next_click`: the pixel deepest
    inside the larger of the two error regions), the way people click too.

    pred, truth [O, H, W] bool -> (points [O, 1, 2], labels [O, 1]). An object without errors
    gets a click that confirms the prediction (a positive click inside it, or a negative one
    outside an empty mask), so the batch stays rectangular.
    """
    errors = pred ^ truth
    point, found = _uniform_pick(errors, generator)
    has_object = truth.flatten(1).any(1)[:, None, None]
    fallback, _ = _uniform_pick(torch.where(has_object, truth, ~truth), generator)
    point = torch.where(found[:, None], point, fallback)
    if centre_prob > 0:  # drawn only then, so runs without centre clicks keep their random stream
        centred = found & (torch.rand(found.shape, generator=generator, device=found.device) < centre_prob)
        point = _deepest_error_points(point, centred, pred, truth)
    x, y = point[:, 0].long(), point[:, 1].long()
    rows = torch.arange(truth.shape[0], device=truth.device)
    label = truth[rows, y, x].int()  # the truth at the clicked pixel says positive or negative
    return Clicks(point[:, None], label[:, None])
