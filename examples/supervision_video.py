"""Track an object through a video with Masklet and draw it with supervision's annotators.

    pip install 'masklet[supervision]'
    python examples/supervision_video.py VIDEO --box X1,Y1,X2,Y2 --output annotated/ [--frames 30]

VIDEO is anything `masklet.io.open_video` reads (an MP4, a folder of frames). The box prompts
object 1 on the first frame; every tracked frame is written as annotated/00000.png, ... with
supervision's mask, box and label annotators (label: the object id and the model's visibility
confidence). Without --model the bundled masklet-nano runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

import masklet
from masklet.integrations.supervision import detections_from_frame
from masklet.io import open_video


def annotate_video(video, box: list[float], output: Path, model="masklet-nano", frames: int | None = None) -> list[Path]:
    import supervision as sv

    source = open_video(video)
    predictor = masklet.VideoPredictor(masklet.load_model(model), show_progress=False)
    state = predictor.init_state(source)
    predictor.add_new_points_or_box(state, frame_idx=0, obj_id=1, box=box)
    by_object = sv.ColorLookup.TRACK  # one colour per object id
    mask_annotator = sv.MaskAnnotator(color_lookup=by_object)
    box_annotator = sv.BoxAnnotator(color_lookup=by_object)
    label_annotator = sv.LabelAnnotator(color_lookup=by_object)
    output.mkdir(parents=True, exist_ok=True)
    written = []
    limit = None if frames is None else frames - 1
    for result in predictor.propagate(state, max_frame_num_to_track=limit):
        image = np.array(source[result.frame_idx])
        detections = detections_from_frame(result)
        labels = [f"#{i} {c:.2f}" for i, c in zip(detections.data.get("obj_id", []), detections.confidence)]
        image = mask_annotator.annotate(image, detections)
        image = box_annotator.annotate(image, detections)
        image = label_annotator.annotate(image, detections, labels=labels)
        path = output / f"{result.frame_idx:05d}.png"
        Image.fromarray(image).save(path)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("video", help="an MP4 or a folder of frames")
    parser.add_argument("--box", required=True, help="X1,Y1,X2,Y2 of the object on the first frame, in pixels")
    parser.add_argument("--output", required=True, type=Path, help="folder for the annotated PNG frames")
    parser.add_argument("--model", default="masklet-nano", help="a model name or checkpoint (default: masklet-nano)")
    parser.add_argument("--frames", type=int, default=None, help="frames to track (default: all)")
    args = parser.parse_args(argv)
    box = [float(v) for v in args.box.split(",")]
    if len(box) != 4:
        parser.error("--box takes four numbers: X1,Y1,X2,Y2")
    written = annotate_video(args.video, box, args.output, args.model, args.frames)
    print(f"wrote {len(written)} frames to {args.output}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
