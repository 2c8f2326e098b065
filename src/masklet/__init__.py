"""Masklet: SAM 2 / 2.1 for images and videos.

    import masklet
    model = masklet.load_model("sam2.1-hiera-tiny")     # or a .pt / safetensors path
    predictor = masklet.ImagePredictor(model)
    video = masklet.VideoPredictor(model)           # masklets through whole videos
    stream = masklet.StreamTracker(model)           # frames pushed one at a time
    masklet.annotate("images/", boxes="detections.json")   # datasets: boxes -> masks (also masklet.mine)
"""

__version__ = "0.1.0"

import importlib

# Public names, each imported from its module on first use, so `import masklet` is quick and
# the ONNX backend's path (masklet.load_model(..., backend="onnx"), VideoPredictor,
# StreamTracker) never imports torch.
_EXPORTS = {
    "annotate": "masklet.autolabel.api",
    "mine": "masklet.autolabel.api",
    "CheckpointError": "masklet.errors",
    "MaskletError": "masklet.errors",
    "OptionError": "masklet.errors",
    "build_model": "masklet.checkpoint",
    "download": "masklet.checkpoint",
    "load_model": "masklet.checkpoint",
    "save_model": "masklet.checkpoint",
    "EfficientNetLite0Config": "masklet.config",
    "HieraConfig": "masklet.config",
    "SAM2Config": "masklet.config",
    "get_config": "masklet.config",
    "list_configs": "masklet.config",
    "register_config": "masklet.config",
    "MaskGenerator": "masklet.predict.automatic",
    "SAM2AutomaticMaskGenerator": "masklet.predict.automatic",
    "ImagePredictor": "masklet.predict.image",
    "MemoryOptions": "masklet.predict.memory_bank",
    "FrameResult": "masklet.predict.results",
    "ReleasedFrameError": "masklet.predict.memory_bank",
    "TrackingOptions": "masklet.predict.session",
    "TrackingSession": "masklet.predict.session",
    "StreamTracker": "masklet.predict.stream",
    "InferenceState": "masklet.predict.video",
    "VideoPredictor": "masklet.predict.video",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'masklet' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
