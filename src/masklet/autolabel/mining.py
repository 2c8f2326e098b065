"""Mining masklets from a video with no input, the way SA-V's automatic masklets were made.

On every keyframe the automatic mask generator segments everything; masks of the right size
and stability that no masklet covers yet there become new objects, tracked forwards and
backwards through the whole video from that keyframe (one tracking session per keyframe).
Masklets whose stability over their frames is too low are dropped, then of masklets covering
the same object (IoU over all frames at least `dedup_iou`) only the most stable one is kept.
"""

from __future__ import annotations

from masklet.autolabel.masklets import Masklet, mask_iou, record, temporal_iou
from masklet.autolabel.options import MineOptions
from masklet.autolabel.videos import VideoMasklets
from masklet.io.video import VideoSource


def keyframe_masks(generator, image, options: MineOptions) -> list:
    """The generator's masks of a keyframe within the size limits, best first (predicted IoU,
    then stability, then area; the order is total so runs repeat exactly)."""
    area = image.shape[0] * image.shape[1]
    records = [
        r for r in generator.generate(image)
        if options.min_area <= r["area"] / area <= options.max_area
    ]
    records.sort(key=lambda r: (-r["predicted_iou"], -r["stability_score"], -r["area"], r["bbox"]))
    return [r["segmentation"] for r in records]


def track_from(predictor, video: VideoSource, keyframe: int, masks: list) -> list[Masklet]:
    """Masklets of masks given on one keyframe, tracked forwards and backwards."""
    session = predictor.init_state(video)
    masklets = {obj: Masklet() for obj in range(len(masks))}
    for obj, mask in enumerate(masks):
        session.add_mask(keyframe, obj, mask)
    for reverse in (False, True):
        for result in predictor.propagate(session, keyframe, reverse=reverse):
            record(result, masklets)
    return list(masklets.values())


def is_new(mask, masklets: list[Masklet], keyframe: int, options: MineOptions) -> bool:
    covered = (m.masks.get(keyframe) for m in masklets)
    return all(c is None or mask_iou(mask, c) < options.new_object_iou for c in covered)


def deduplicated(masklets: list[Masklet], options: MineOptions) -> list[Masklet]:
    """The stable masklets, most stable first, without the ones repeating a kept one."""
    stable = [m for m in masklets if m.masks and m.mean_stability() >= options.min_mean_stability]
    ranked = sorted(range(len(stable)), key=lambda i: (-stable[i].mean_stability(), -stable[i].mean_area(), i))
    kept: list[Masklet] = []
    for i in ranked:
        if all(temporal_iou(stable[i], k) < options.dedup_iou for k in kept):
            kept.append(stable[i])
    return kept


def mine_video(bench, video: VideoSource, name: str, options: MineOptions) -> VideoMasklets:
    num_frames = len(video)
    height, width = video[0].shape[:2]
    generator = bench.mask_generator(options)
    masklets: list[Masklet] = []
    for keyframe in range(0, num_frames, options.keyframe_every):
        fresh = [m for m in keyframe_masks(generator, video[keyframe], options)
                 if is_new(m, masklets, keyframe, options)]
        if fresh:
            masklets += track_from(bench.video_predictor, video, keyframe, fresh)
    return VideoMasklets(name, num_frames, height, width, deduplicated(masklets, options))
