"""Masklet: SAM 2 / 2.1 for images and videos.

    import masklet
    model = masklet.load_model("sam2.1-hiera-tiny")     # or a .pt / safetensors path
    predictor = masklet.ImagePredictor(model)
    video = masklet.VideoPredictor(model)           # masklets through whole videos
    stream = masklet.StreamTracker(model)           # frames pushed one at a time
    masklet.annotate("images/", boxes="detections.json")   # datasets: boxes -> masks (also masklet.mine)
"""

__version__ = "0.1.0"

from masklet.autolabel.api import annotate, mine  # noqa: E402
from masklet.checkpoint import (  # noqa: E402
    CheckpointError,
    build_model,
    download,
    load_model,
    save_model,
)
from masklet.config import (  # noqa: E402
    HieraConfig,
    SAM2Config,
    get_config,
    list_configs,
    register_config,
)
from masklet.predict.automatic import MaskGenerator, SAM2AutomaticMaskGenerator  # noqa: E402
from masklet.predict.image import ImagePredictor  # noqa: E402
from masklet.predict.results import FrameResult  # noqa: E402
from masklet.predict.session import TrackingOptions, TrackingSession  # noqa: E402
from masklet.predict.stream import StreamTracker  # noqa: E402
from masklet.predict.video import InferenceState, VideoPredictor  # noqa: E402

__all__ = [
    "CheckpointError", "FrameResult", "HieraConfig", "ImagePredictor", "InferenceState", "MaskGenerator",
    "SAM2AutomaticMaskGenerator", "SAM2Config", "StreamTracker", "TrackingOptions", "TrackingSession", "VideoPredictor", "build_model", "download",
    "annotate", "get_config", "list_configs", "load_model", "mine", "register_config", "save_model",
]
