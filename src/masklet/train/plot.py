"""The loss curve as a PNG, drawn with Pillow (no plotting library needed)."""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw

from masklet.io.atomic import atomic_output

_SERIES = (("total", (20, 20, 20)), ("focal", (31, 119, 180)), ("dice", (255, 127, 14)),
           ("iou", (44, 160, 44)), ("score", (214, 39, 40)))


def write_loss_curve(path: str | Path, rows: list[dict], size: tuple[int, int] = (800, 480)) -> Path:
    """Plot each loss term of the metrics `rows` (dicts with "step" and the terms) against the
    step, log-scaled, with a legend and axis labels."""
    width, height = size
    left, right, top, bottom = 70, 20, 20, 50
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    steps = [r["step"] for r in rows]
    values = [max(r[k], 1e-6) for r in rows for k, _ in _SERIES if k in r]
    lo, hi = math.log10(min(values)), math.log10(max(values))
    hi = hi if hi > lo else lo + 1
    s0, s1 = min(steps), max(steps) if max(steps) > min(steps) else min(steps) + 1

    def xy(step, value):
        x = left + (step - s0) / (s1 - s0) * (width - left - right)
        y = top + (hi - math.log10(max(value, 1e-6))) / (hi - lo) * (height - top - bottom)
        return x, y

    draw.rectangle([left, top, width - right, height - bottom], outline="black")
    for exponent in range(math.floor(lo), math.ceil(hi) + 1):
        if lo <= exponent <= hi:
            _, y = xy(s0, 10**exponent)
            draw.line([left, y, width - right, y], fill=(220, 220, 220))
            draw.text((5, y - 6), f"1e{exponent}", fill="black")
    for fraction in (0, 0.5, 1):
        step = s0 + fraction * (s1 - s0)
        x, _ = xy(step, 10**lo)
        draw.text((x - 10, height - bottom + 8), f"{int(step)}", fill="black")
    draw.text((width // 2 - 15, height - 22), "step", fill="black")
    for i, (key, colour) in enumerate(_SERIES):
        points = [xy(r["step"], r[key]) for r in rows if key in r]
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
        draw.text((left + 10 + 70 * i, top + 5), key, fill=colour)
    with atomic_output(path) as tmp:
        image.save(tmp, format="PNG")
    return Path(path)
