"""The results of a run: every object's interactions per method, their figures (`summary`),
as JSON and as a markdown table."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from masklet.eval.interactive_video.protocol import ObjectRun, ProtocolSettings
from masklet.eval.interactive_video.summary import (
    CurveSummary,
    InteractionRatio,
    interaction_ratio,
    ratio_at_method_best,
    summarize_curves,
)

METHOD = "video"  # the method the baselines are compared with
TABLE_POINTS = (1, 3, 5, 8)  # J&F after these interactions in tables


@dataclass
class MethodResult:
    max_interactions: int
    runs: list[ObjectRun]
    seconds: float


@dataclass
class InteractiveVideoReport:
    dataset: str
    settings: ProtocolSettings
    target: float
    methods: dict[str, MethodResult]

    def videos(self) -> list[str]:
        first = next(iter(self.methods.values()))
        return list(dict.fromkeys(run.video for run in first.runs))

    def curves(self, method: str, video: str | None = None) -> list[list[float]]:
        """`method`'s curve of each object of one video, or of all objects."""
        return [r.curve for r in self.methods[method].runs if video is None or r.video == video]

    def summary(self, method: str, video: str | None = None, target: float | None = None) -> CurveSummary:
        """`method`'s figures on one video's objects, or on all objects."""
        return summarize_curves(self.curves(method, video), self.target if target is None else target,
                                self.settings.max_interactions)

    def ratio(self, baseline: str, video: str | None = None, target: float | None = None) -> InteractionRatio | None:
        """A baseline's interactions to target over the method's (None without the method)."""
        if METHOD not in self.methods or baseline == METHOD:
            return None
        return interaction_ratio(self.summary(baseline, video, target), self.summary(METHOD, video, target))

    def ratio_at_best(self, baseline: str, video: str | None = None) -> InteractionRatio | None:
        """A baseline's interactions over the method's to reach, on each object, the best J&F
        the method reaches there (None without the method)."""
        if METHOD not in self.methods or baseline == METHOD:
            return None
        return ratio_at_method_best(self.curves(baseline, video), self.curves(METHOD, video))

    def to_dict(self) -> dict:
        settings = {"first_prompt": self.settings.first_prompt.value, "prompt_frame": self.settings.prompt_frame.value,
                    "max_interactions": self.settings.max_interactions}
        methods = {}
        for name, result in self.methods.items():
            videos = {v: {"summary": asdict(self.summary(name, v)),
                          "objects": [_run_dict(r) for r in result.runs if r.video == v]} for v in self.videos()}
            methods[name] = {"max_interactions": result.max_interactions, "seconds": result.seconds,
                             "summary": asdict(self.summary(name)), "videos": videos}
        ratios = {
            name: {"at_target": self._ratios(self.ratio, name), "at_method_best": self._ratios(self.ratio_at_best, name)}
            for name in self.methods if name != METHOD and METHOD in self.methods
        }
        return {"dataset": self.dataset, "settings": settings, "target": self.target, "methods": methods,
                "ratios_vs_" + METHOD: ratios}

    def _ratios(self, ratio, baseline: str) -> dict:
        """{"overall": ..., "videos": {video: ...}} of one kind of ratio for a baseline."""
        return {"overall": _ratio_dict(ratio(baseline)), "videos": {v: _ratio_dict(ratio(baseline, v)) for v in self.videos()}}

    def markdown(self, per_video: bool = True) -> str:
        """Per video (unless not `per_video`) and overall: J&F after 1/3/5/8 interactions, AUC,
        interactions to target, and each baseline's ratios to the method (at the target and at
        the method's best J&F)."""
        n = self.settings.max_interactions
        points = [k for k in TABLE_POINTS if k <= n]
        head = ["video", "method", *(f"J&F@{k}" for k in points), f"AUC@{n}", f"NoI@{self.target:g}", "reached",
                f"ratio vs {METHOD} @{self.target:g}", f"ratio at {METHOD}'s best"]
        lines = ["| " + " | ".join(head) + " |", "| --- | --- |" + " ---: |" * (len(head) - 2)]
        for video in [*(self.videos() if per_video else []), None]:
            for name in self.methods:
                s = self.summary(name, video)
                ratios = [self.ratio(name, video), self.ratio_at_best(name, video)]
                cells = [video or "**mean**", name, *(f"{100 * s.curve[k - 1]:.1f}" for k in points),
                         f"{100 * s.auc:.1f}", f"{s.interactions_to_target:.2f}", f"{s.reached}/{s.objects}",
                         *("-" if r is None else str(r) for r in ratios)]
                lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)


def _run_dict(run: ObjectRun) -> dict:
    interactions = [
        {"frame": i.frame_idx, "prompt": i.prompt, "clicks": [[c.x, c.y, int(c.positive)] for c in i.clicks],
         "J": i.J, "F": i.F, "J&F": i.JF}
        for i in run.interactions
    ]
    return {"obj_id": run.obj_id, "prompt_frame": run.prompt_frame, "curve": run.curve, "interactions": interactions}


def _ratio_dict(ratio: InteractionRatio) -> dict:
    return {"value": ratio.value, "bound": ratio.bound.value}
