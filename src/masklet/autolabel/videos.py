"""Annotating videos: detections on keyframes prompt the video predictor, masks are propagated
from each keyframe to the next.

On each keyframe the detections' box masks (image predictor) are matched by mask IoU to the
masks the tracked objects reached there. A matched object is prompted again with its detection
box; a detection matching no object starts a new one (tracked from that keyframe on); an object
matching no detection ends (it has no mask from that keyframe on).
"""

from __future__ import annotations

from dataclasses import dataclass

from masklet.autolabel.box_files import frame_key
from masklet.autolabel.detectors import Detector
from masklet.autolabel.images import box_masks, usable_detections
from masklet.autolabel.masklets import Masklet, match_by_iou, record
from masklet.autolabel.options import AnnotateOptions
from masklet.io.video import VideoSource


@dataclass
class VideoMasklets:
    """The masklets of one video, in the order their objects appeared."""

    name: str
    num_frames: int
    height: int
    width: int
    masklets: list[Masklet]


def annotate_video(bench, detector: Detector, video: VideoSource, name: str,
                   options: AnnotateOptions) -> tuple[VideoMasklets, list[str]]:
    """Masklets of the detected objects of a video, and the problem lines of skipped boxes."""
    num_frames = len(video)
    height, width = video[0].shape[:2]
    keyframes = detector.keyframes(name, num_frames)
    problems = [] if keyframes else [f"{name}: no detections on any frame; no masklets"]
    predictor = bench.video_predictor
    session = predictor.init_state(video)
    masklets: dict[int, Masklet] = {}
    active: list[int] = []  # object ids being tracked, in order of appearance
    for number, keyframe in enumerate(keyframes):
        image = video[keyframe]
        where = f"{name} frame {keyframe}"
        detections, skipped = usable_detections(detector.detect(image, frame_key(name, keyframe)), width, height, where)
        problems += skipped
        found, _ = box_masks(bench.image_predictor, image, detections)
        tracked = [masklets[obj].mask(keyframe, (height, width)) for obj in active]
        matches = dict((d, active[o]) for d, o in match_by_iou(list(found), tracked, options.match_iou))
        for obj in [o for o in active if o not in matches.values()]:
            masklets[obj].forget_from(keyframe)
            session.remove_object(obj)
            active.remove(obj)
        for index, detection in enumerate(detections):
            obj = matches.get(index)
            if obj is None:
                obj = len(masklets)
                masklets[obj] = Masklet(detection.category_id)
                active.append(obj)
            session.add_points_or_box(keyframe, obj, box=list(detection.box))
        last = keyframes[number + 1] if number + 1 < len(keyframes) else num_frames - 1
        if active:
            for result in predictor.propagate(session, keyframe, last - keyframe):
                record(result, masklets)
    return VideoMasklets(name, num_frames, height, width, list(masklets.values())), problems
