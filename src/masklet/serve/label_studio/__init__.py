"""`masklet label-studio`: a Label Studio ML backend (https://labelstud.io/guide/ml).

Connect it in a Label Studio project (Settings > Model > Connect Model, or POST /api/ml) and
turn on interactive pre-annotation: smart keypoints and rectangles on an image come back as a
brush mask (`brushlabels`, Label Studio's brush RLE), a smart rectangle on a video frame comes
back tracked as a `videorectangle` with a box on every frame. Label Studio has no mask region
on videos, so video masks are given as their boxes.
"""

from masklet.serve.label_studio.app import create_app
from masklet.serve.label_studio.backend import MaskletBackend

__all__ = ["MaskletBackend", "create_app"]
