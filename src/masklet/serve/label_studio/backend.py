"""The predictions: prompts of a task -> Masklet -> Label Studio results.

One model serves every project; requests take turns on it (a lock). The image embedding of the
last image is kept, so further clicks on the same image only run the mask decoder.
"""

from __future__ import annotations

import tempfile
import threading
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from masklet.io.image import ImageReadError, as_rgb
from masklet.io.video import VideoReadError, open_video
from masklet.predict.image import ImagePredictor
from masklet.predict.video import VideoPredictor
from masklet.serve.errors import BadRequest
from masklet.serve.label_studio.config import LabelConfig, MediaTag
from masklet.serve.label_studio.media import LabelStudioServer
from masklet.serve.label_studio.prompts import ImagePrompt, VideoObject, image_prompts, video_objects
from masklet.serve.label_studio.results import brush_result, mask_box, video_rectangle_result


def read_image(path: Path) -> np.ndarray:
    """RGB uint8 [H, W, 3] turned as its EXIF orientation says, as browsers (and so Label
    Studio's coordinates) show it."""
    try:
        with Image.open(path) as image:
            return as_rgb(ImageOps.exif_transpose(image))
    except (OSError, ValueError) as e:
        raise ImageReadError(f"the task's image {path.name} cannot be read ({e})") from None


class MaskletBackend:
    """Segments image prompts and tracks video boxes with one model.

    track_frames: how many frames after the last drawn keyframe a video object is tracked.
    """

    def __init__(self, model, model_version: str, track_frames: int = 100) -> None:
        self.images = ImagePredictor(model)
        self.videos = VideoPredictor(model, show_progress=False)
        self.model_version = model_version
        self.track_frames = track_frames
        self._lock = threading.Lock()
        self._image_url: str | None = None  # the image whose embedding `images` holds
        self._image_hw = (0, 0)

    def predict(self, task: dict, config: LabelConfig, regions: list, server: LabelStudioServer) -> dict | None:
        """The prediction ({"result", "score", "model_version"}) for the task's prompt
        regions, or None when they hold no prompt."""
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise BadRequest("a task must be an object with a 'data' object")
        images, videos = image_prompts(regions), video_objects(regions)
        if not images and not videos:
            return None
        with self._lock:
            results = [self._segment(task, config, prompt, server) for prompt in images.values()]
            by_video: dict[str, list[VideoObject]] = defaultdict(list)
            for obj in videos:
                by_video[obj.to_name].append(obj)
            for to_name, objects in by_video.items():
                results += self._track(task, config.media_tag(to_name, "video"), objects, server)
        scores = [r["score"] for r in results if "score" in r]
        return {"result": results, "score": float(np.mean(scores)) if scores else None, "model_version": self.model_version}

    @staticmethod
    def _media(task: dict, tag: MediaTag) -> str:
        if tag.field not in task["data"]:
            raise BadRequest(f"the task has no data field {tag.field!r}, which <{tag.kind.title()} name={tag.name!r}> shows")
        return task["data"][tag.field]

    def _segment(self, task: dict, config: LabelConfig, prompt: ImagePrompt, server: LabelStudioServer) -> dict:
        brush = config.control("brushlabels", prompt.to_name)
        label = prompt.label if prompt.label is not None else (brush.labels[0] if brush.labels else None)
        if label is None or (brush.labels and label not in brush.labels):
            raise BadRequest(f"the prompt's label {label!r} is not a label of <BrushLabels name={brush.name!r}> "
                             f"(its labels: {', '.join(brush.labels) or 'none'}): give both tags the same labels")
        url = server.full_url(self._media(task, config.media_tag(prompt.to_name, "image")))
        if url != self._image_url:
            self._image_url = None
            with tempfile.TemporaryDirectory(prefix="masklet-ls-") as folder:
                image = read_image(server.download(url, Path(folder)))
            self.images.set_image(image)
            self._image_url, self._image_hw = url, image.shape[:2]
        height, width = self._image_hw
        points, labels, box = prompt.in_pixels(width, height)
        multimask = box is None and len(prompt.points) == 1  # one click is ambiguous: keep the best of three
        masks, ious, _ = self.images.predict(point_coords=points, point_labels=labels, box=box, multimask_output=multimask)
        best = int(np.argmax(ious))
        return brush_result(masks[best], brush, label, float(ious[best]))

    def _track(self, task: dict, tag: MediaTag, objects: list[VideoObject], server: LabelStudioServer) -> list[dict]:
        with tempfile.TemporaryDirectory(prefix="masklet-ls-") as folder:
            path = server.download(self._media(task, tag), Path(folder))
            try:
                video = open_video(path)
            except VideoReadError as e:
                raise BadRequest(f"the task's video cannot be read: {e}") from None
            with video:
                tracked = self._propagate(video, objects)
                num_frames = len(video)
        results = []
        for obj, boxes in zip(objects, tracked):
            value = obj.region["value"]
            frames_count = int(value.get("framesCount") or num_frames)
            duration = float(value.get("duration") or num_frames / tag.framerate)
            results.append(video_rectangle_result(obj, boxes, frames_count, duration))
        return results

    def _propagate(self, video, objects: list[VideoObject]) -> list[dict]:
        """Each object's box on every tracked frame (None where it is absent)."""
        state = self.videos.init_state(video)
        scale = np.array([video.width, video.height] * 2, np.float32) / 100
        for index, obj in enumerate(objects):
            for frame, box in obj.keyframes:
                if frame >= len(video):
                    raise BadRequest(f"a keyframe is on frame {frame + 1} but the video has {len(video)} frames: "
                                     "set the <Video> tag's framerate to the video's frame rate")
                self.videos.add_new_points_or_box(state, frame, index, box=np.array(box, np.float32) * scale)
        first = min(frame for obj in objects for frame, _ in obj.keyframes)
        last = max(frame for obj in objects for frame, _ in obj.keyframes)
        tracked: list[dict] = [{} for _ in objects]
        for result in self.videos.propagate(state, first, last - first + self.track_frames):
            for index, (mask, visible) in enumerate(zip(result.masks, result.visible)):
                tracked[index][result.frame_idx] = mask_box(mask) if visible else None
        return tracked
