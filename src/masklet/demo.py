"""`make demo`: track one object through a real video with the bundled masklet-nano model, offline.

Source (--source auto picks the first that exists):
  davis  the first --frames frames of a DAVIS-2016 sequence under --data (default
         ../shared/data/davis2016-val, blackswan), prompted with its first-frame ground-truth mask;
  photo  a virtual camera panning and zooming over scikit-image's bundled 'coffee' photo
         (480x320 frames), prompted with a box around the cup on its saucer.
Both clips have an exact ground-truth mask on every frame, so the demo scores its masks with
Masklet's DAVIS scorer (J, F, J&F; first and last frames not scored).

Writes OUTPUT/overlay.mp4 (the masks drawn on the frames) and OUTPUT/masks/<clip>/%05d.png
(DAVIS palette PNGs), plus for the photo clip its ground truth OUTPUT/truth/coffee/%05d.png;
rescore with `masklet eval vos --gt OUTPUT/truth --pred OUTPUT/masks`.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATA = Path("../shared/data")  # the shared real data beside the repository, from its root


@dataclass
class DemoResult:
    clip: str  # the DAVIS sequence or "coffee"
    source: str  # "davis" or "photo"
    video: Path  # the overlay MP4
    masks: Path  # folder of the predicted palette PNGs
    frames: int
    track_s: float  # time spent in the predictor (prompting and propagation)
    scores: dict  # score_sequence's J and F {mean, recall, decay}, and "J&F"

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.track_s if self.track_s > 0 else float("inf")


def pick_source(source: str, data: Path) -> str:
    """'davis' or 'photo' for --source (auto: davis when `data` holds davis2016-val)."""
    has_davis = (data / "davis2016-val").is_dir()
    if source == "davis" and not has_davis:
        raise ValueError(f"no DAVIS data at {data / 'davis2016-val'}; pass --data or use --source photo")
    return source if source != "auto" else ("davis" if has_davis else "photo")


def run_demo(model, output: Path, source: str = "auto", data: Path = DATA, sequence: str = "blackswan",
             frames: int = 30, fps: float = 12.0) -> DemoResult:
    """Track the clip's object with `model`, write the overlay video and mask PNGs under
    `output`, and score the masks against the clip's ground truth."""
    from masklet.demo_clips import davis_clip, photo_clip
    from masklet.eval.vos import score_sequence
    from masklet.io import VideoOverlayWriter, write_davis_png
    from masklet.predict.video import VideoPredictor

    source = pick_source(source, data)
    clip = davis_clip(data / "davis2016-val", sequence, frames) if source == "davis" else photo_clip(frames)
    output = Path(output)
    masks_dir = output / "masks" / clip.name
    if source == "davis":
        truth_dir = data / "davis2016-val" / "Annotations" / "480p" / clip.name
    else:
        truth_dir = output / "truth" / clip.name
        for name, truth in zip(clip.frame_names, clip.truth):
            write_davis_png(truth_dir / f"{name}.png", truth.astype(np.uint8))

    predictor = VideoPredictor(model, show_progress=False)
    height, width = clip.frames[0].shape[:2]
    start = time.perf_counter()
    state = predictor.init_state(clip.frames)
    if clip.prompt == "mask":
        predictor.add_new_mask(state, 0, 1, clip.truth[0])
    else:
        predictor.add_new_points_or_box(state, 0, 1, box=clip.first_box)
    track_s = time.perf_counter() - start
    with VideoOverlayWriter(output / "overlay.mp4", fps=fps, size=(width, height)) as video:
        results = predictor.propagate(state)
        while True:
            start = time.perf_counter()
            result = next(results, None)
            track_s += time.perf_counter() - start
            if result is None:
                break
            mask = result.masks[0]  # [H, W] bool, object 1
            write_davis_png(masks_dir / f"{clip.frame_names[result.frame_idx]}.png", mask.astype(np.uint8))
            video.write(clip.frames[result.frame_idx], mask[None], [1])
    scores = score_sequence(truth_dir, masks_dir, only_frames=set(clip.frame_names))
    scores = {"J": scores["J"], "F": scores["F"], "J&F": (scores["J"]["mean"] + scores["F"]["mean"]) / 2}
    return DemoResult(clip.name, source, output / "overlay.mp4", masks_dir, len(clip.frames), track_s, scores)


def main(argv: list[str] | None = None) -> int:
    from masklet.cli.common import add_model_options, resolve_model
    from masklet.cli.errors import CliError

    parser = argparse.ArgumentParser(prog="python -m masklet.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", choices=["auto", "davis", "photo"], default="auto",
                        help="the clip to track (default: auto, davis when its data is there)")
    parser.add_argument("--data", type=Path, default=DATA, help=f"the shared data folder (default: {DATA})")
    parser.add_argument("--sequence", default="blackswan", help="DAVIS sequence (default: blackswan)")
    parser.add_argument("--frames", type=int, default=30, help="frames to track (default: 30)")
    parser.add_argument("--fps", type=float, default=12.0, help="frame rate of the overlay video (default: 12)")
    parser.add_argument("--output", type=Path, default=Path("out/demo"), help="output folder (default: out/demo)")
    add_model_options(parser)
    args = parser.parse_args(argv)
    if args.frames < 3:
        parser.error(f"--frames must be at least 3 (the first and last are not scored), got {args.frames}")
    try:
        model = resolve_model(args)
        result = run_demo(model, args.output, args.source, args.data, args.sequence, args.frames, args.fps)
    except (CliError, ValueError, OSError, ImportError) as e:
        print(f"masklet demo: error: {e}", file=sys.stderr)
        return 2
    config = model.config
    print(f"model {args.model or 'masklet-nano (bundled)'}: {config.name}, {config.image_size} px, "
          f"{sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters, on {args.device}")
    print(f"tracked '{result.clip}' ({result.source}) over {result.frames} frames in {result.track_s:.1f}s: "
          f"{result.frames_per_second:.1f} frames/s")
    j, f = result.scores["J"], result.scores["F"]
    print(f"J {j['mean']:.3f}  F {f['mean']:.3f}  J&F {result.scores['J&F']:.3f}  (frames 2..{result.frames - 1} "
          "against the exact ground truth)")
    print(f"wrote {result.video} and {result.frames} masks in {result.masks}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
