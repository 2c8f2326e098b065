"""Simulated prompts: where clicks land, what boxes cover, which way corrections point."""

import torch

from masklet.train.prompts import correction_clicks, noisy_boxes, sample_positive_points


def _disk(size=64, cx=20, cy=30, r=8):
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    return (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r


def test_positive_points_fall_inside_each_mask_and_empty_masks_get_negatives():
    masks = torch.stack([_disk(), _disk(cx=50, cy=10, r=4), torch.zeros(64, 64, dtype=torch.bool)])
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        points, labels = sample_positive_points(masks, 3, g)
        assert points.shape == (3, 3, 2) and labels.shape == (3, 3)
        for o in range(2):
            x, y = points[o, :, 0].long(), points[o, :, 1].long()
            assert masks[o, y, x].all() and (labels[o] == 1).all()
        assert (labels[2] == 0).all()


def test_points_are_spread_over_the_mask():
    masks = _disk(r=10)[None]
    g = torch.Generator().manual_seed(1)
    seen = {tuple(sample_positive_points(masks, 1, g)[0][0, 0].tolist()) for _ in range(200)}
    assert len(seen) > 100  # uniform over ~300 pixels, not always the same one


def test_noisy_boxes_stay_near_the_true_box_and_inside_the_image():
    masks = _disk(cx=20, cy=30, r=8)[None]  # true box 12..28 x 22..38
    g = torch.Generator().manual_seed(2)
    boxes = []
    for _ in range(100):
        points, labels = noisy_boxes(masks, g, noise=0.1, max_noise_px=20)
        assert labels.tolist() == [[2, 3]]
        boxes.append(points.view(4))
    boxes = torch.stack(boxes)
    truth = torch.tensor([12.0, 22.0, 28.0, 38.0])
    assert ((boxes - truth).abs() <= 1.6 + 1e-4).all()  # 10% of the 16 px side
    assert (boxes - truth).abs().max() > 0.5  # it is noisy
    assert boxes.min() >= 0 and boxes.max() <= 63


def test_correction_clicks_point_at_errors_with_the_right_label():
    truth = _disk(r=10)[None].repeat(3, 1, 1)
    missed = truth.clone()
    missed[0, :, :20] = False  # left half missing: the click must be positive, in the missed part
    extra = truth.clone()
    extra[1, 50:60, 50:60] = True  # a false positive square: negative click there
    perfect = truth[2].clone()
    pred = torch.stack([missed[0], extra[1], perfect])
    g = torch.Generator().manual_seed(3)
    for _ in range(30):
        points, labels = correction_clicks(pred, truth, g)
        assert points.shape == (3, 1, 2)
        x, y = points[:, 0, 0].long(), points[:, 0, 1].long()
        assert labels[0, 0] == 1 and truth[0, y[0], x[0]] and not pred[0, y[0], x[0]]
        assert labels[1, 0] == 0 and pred[1, y[1], x[1]] and not truth[1, y[1], x[1]]
        assert labels[2, 0] == 1 and truth[2, y[2], x[2]]  # no error: a confirming click inside


def test_centre_correction_clicks_are_the_evaluations_click():
    """With centre_prob 1 every object with an error gets `next_click`'s click, the one the
    interactive benchmark's simulated user makes; objects without errors keep the confirming click."""
    from masklet.eval.interactive import next_click

    truth = _disk(r=12)[None].repeat(3, 1, 1)
    pred = truth.clone()
    pred[0, :, :22] = False  # a missed part: positive click at its centre
    pred[1, 40:60, 40:60] = True  # a wrong square: negative click at its centre
    g = torch.Generator().manual_seed(0)
    points, labels = correction_clicks(pred, truth, g, centre_prob=1.0)
    for row in (0, 1):
        click = next_click(truth[row].numpy(), pred[row].numpy())
        assert points[row, 0].tolist() == [click.x, click.y] and labels[row, 0] == int(click.positive)
    assert labels[2, 0] == 1 and truth[2, int(points[2, 0, 1]), int(points[2, 0, 0])]
    x, y = points[1, 0].long().tolist()
    assert labels[1, 0] == 0 and 40 <= x < 60 and 40 <= y < 60 and not truth[1, y, x]  # in the wrong square


def test_no_centre_clicks_keep_the_random_stream():
    truth = _disk(r=12)[None].repeat(2, 1, 1)
    pred = torch.zeros_like(truth)
    first = correction_clicks(pred, truth, torch.Generator().manual_seed(5))
    second = correction_clicks(pred, truth, torch.Generator().manual_seed(5), centre_prob=0.0)
    assert torch.equal(first.coords, second.coords)
