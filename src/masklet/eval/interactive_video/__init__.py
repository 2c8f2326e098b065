"""Interactive video segmentation measured as the SAM 2 paper does: a simulated annotator
prompts each object on one frame, then adds one correction click per interaction on the worst
frame; the video's J&F after each interaction makes a curve (see `protocol`, `annotator`,
`summary` for the rules, `methods` for the method and its baselines)."""

from masklet.eval.interactive_video.annotator import FirstPrompt, PromptFrame
from masklet.eval.interactive_video.methods import (
    METHODS,
    ImagePerFrame,
    ImageThenPropagate,
    VideoClicks,
)
from masklet.eval.interactive_video.protocol import (
    ObjectRun,
    ProtocolSettings,
    run_object,
)
from masklet.eval.interactive_video.report import InteractiveVideoReport
from masklet.eval.interactive_video.run import (
    build_segmenters,
    run_interactive_video,
    write_outputs,
)
from masklet.eval.interactive_video.summary import (
    area_under_curve,
    interaction_ratio,
    interactions_to_reach,
)

__all__ = [
    "FirstPrompt", "ImagePerFrame", "ImageThenPropagate", "InteractiveVideoReport", "METHODS", "ObjectRun",
    "PromptFrame", "ProtocolSettings", "VideoClicks", "area_under_curve", "build_segmenters", "interaction_ratio",
    "interactions_to_reach", "run_interactive_video", "run_object", "write_outputs",
]
