"""J&F-per-interaction curves as a PNG (matplotlib, from the `plot` extra)."""

from __future__ import annotations

from pathlib import Path

from masklet.eval.interactive_video.report import InteractiveVideoReport
from masklet.io.atomic import atomic_output

MAX_VIDEO_PANELS = 8  # more videos than this: only the mean is drawn


def plotting_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def write_curves(path: str | Path, report: InteractiveVideoReport, title: str = "") -> Path:
    """One panel for the mean over all objects, and one per video when there are at most
    MAX_VIDEO_PANELS: each method's J&F after each interaction, the target dashed. The
    interaction axis is logarithmic when one method's budget is over 4x another's."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    videos = report.videos()
    panels: list[str | None] = [None, *(videos if len(videos) <= MAX_VIDEO_PANELS else [])]
    budgets = [m.max_interactions for m in report.methods.values()]
    columns = min(len(panels), 3)
    rows = -(-len(panels) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.3 * rows), squeeze=False)
    for ax, video in zip(axes.flat, panels):
        for name in report.methods:
            curve = report.summary(name, video).curve
            ax.plot(range(1, len(curve) + 1), [100 * v for v in curve], marker="o" if len(curve) <= 20 else None,
                    markersize=3, label=name)
        ax.axhline(100 * report.target, color="grey", linestyle="--", linewidth=1)
        if max(budgets) > 4 * min(budgets):
            ax.set_xscale("log")
        ax.set_ylim(0, 100)
        ax.set_title(video or f"mean over {report.summary(next(iter(report.methods))).objects} objects", fontsize=10)
        ax.set_xlabel("interactions")
        ax.set_ylabel("J&F")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8, loc="lower right")
    settings = report.settings
    figure.suptitle(title or f"{Path(report.dataset).name}: first prompt {settings.first_prompt.value} on the "
                    f"{settings.prompt_frame.value} frame, then one click per interaction", fontsize=11)
    figure.tight_layout()
    with atomic_output(path) as tmp:
        figure.savefig(tmp, format="png", dpi=110)
    plt.close(figure)
    return Path(path)
