"""Masklet as CVAT auto-annotation functions (https://github.com/cvat-ai/cvat), for CVAT's
AI tools through `cvat-cli` agents:

    cvat-cli function create-native "Masklet" \\
        --function-module masklet.integrations.cvat.interactor -p model=str:masklet-nano
    cvat-cli function run-agent FUNCTION_ID \\
        --function-module masklet.integrations.cvat.interactor -p model=str:masklet-nano

- `masklet.integrations.cvat.interactor`: an interaction function (CVAT's "interactor"):
  clicks and / or a box on an image -> the object's mask, from `ImagePredictor`.
- `masklet.integrations.cvat.tracker`: a tracking function (CVAT's "tracker"): a mask,
  polygon or rectangle on one frame -> the same shape on the frames that follow, from a
  `StreamTracker` per shape, so SAM 2's memory of earlier frames carries the object along.
- `masklet.integrations.cvat.detector`: a detection function (CVAT's "detector", and
  `cvat-cli task auto-annotate`): every object in an image, from `MaskGenerator`.

Each module's `create(model="masklet-nano", device="cpu")` is the factory cvat-cli calls with
the `-p NAME=TYPE:VALUE` parameters; `model` is anything `masklet.load_model` takes.
"""

from __future__ import annotations

from masklet.checkpoint import load_model
from masklet.errors import MaskletError

try:
    import cvat_sdk.auto_annotation  # noqa: F401  (fails here, with the hint below, when absent)
except ImportError:
    raise ImportError("the CVAT functions need cvat-sdk: pip install 'masklet[cvat]'") from None


class CvatShapeError(MaskletError, ValueError):
    """A prompt or shape from CVAT that Masklet cannot segment or track."""


def load_function_model(model: str, device: str):
    """The model a function runs (`masklet.load_model` of a name or path), in eval mode."""
    return load_model(model, device=device, progress=False)
