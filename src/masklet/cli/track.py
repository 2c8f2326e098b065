"""`masklet track`: prompted objects followed through a video."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from tqdm import tqdm

from masklet.backend.arrays import to_numpy
from masklet.cli.common import (
    add_model_options,
    check_clicks,
    check_output_location,
    resolve_model,
    staged_folder,
)
from masklet.cli.errors import CliError
from masklet.cli.prompts import (
    BOX_FORMAT,
    POINT_FORMAT,
    FramePrompt,
    InOrder,
    PromptSet,
    parse_box,
    parse_id,
    parse_point,
    prompts_from_arguments,
    prompts_from_file,
    read_mask_file,
)
from masklet.errors import OptionError
from masklet.io.davis import MAX_OBJECT_ID, logits_to_label_map
from masklet.io.frame_spill import FrameSpill
from masklet.predict.memory_bank import MEMORY_PRESETS
from masklet.predict.results import FrameResult

FORMATS = {
    "davis": "one palette PNG per frame whose pixel values are the object ids (1..254; where objects overlap, "
             "the one with the highest logit); --output is a folder",
    "sav": "SA-V layout, OUTPUT/<video>/<object:03d>/<frame:05d>.png, black/white; --output is a folder",
    "coco": "a COCO JSON file with one image per frame and an RLE annotation per visible object "
            "(category id = object id); --output is the .json file",
    "mp4": "the video with the masks drawn on it; --output is the .mp4 file",
}
DEFAULT_FPS = 24.0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "track", help="follow prompted objects through a video",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Track objects through VIDEO (a video file or a folder of frames). Each object is prompted "
        "on one or more frames with clicks, a box or a mask; frames before the first prompt are tracked "
        "backwards.\n\n" + prompt_grammar()
        + "\nFormats:\n" + "".join(f"  {k:<6} {v}\n" for k, v in FORMATS.items()),
        epilog="example: masklet track clip.mp4 --obj 1 --point 210,350 --obj 2 --box 300,0,500,400 "
        "--format davis --output masks/",
    )
    parser.add_argument("video", metavar="VIDEO", help="video file (.mp4, .mov, ...) or folder of frame images")
    prompt_options = parser.add_argument_group("prompts (in order; see above)")
    prompt_options.add_argument("--obj", type=parse_id, action=InOrder, metavar="ID",
                                help="object of the prompts after it")
    prompt_options.add_argument("--frame", type=parse_id, action=InOrder, metavar="N",
                                help="frame of the prompts after it")
    prompt_options.add_argument("--point", type=parse_point, action=InOrder, metavar="X,Y[:LABEL]",
                         help=f"a click in pixels: {POINT_FORMAT}")
    prompt_options.add_argument("--box", type=parse_box, action=InOrder, metavar=BOX_FORMAT, help="a box in pixels")
    prompt_options.add_argument("--mask", action=InOrder, metavar="MASK.png", help="a mask image (non-zero = object)")
    prompt_options.add_argument("--prompts", metavar="FILE.json", help="prompt file (format above)")
    parser.add_argument("--output", required=True, help="output folder (davis, sav) or file (coco, mp4)")
    parser.add_argument("--format", choices=FORMATS, default="davis", help="output format (default: davis)")
    parser.add_argument("--max-frames", type=int, metavar="N", help="track only the first N frames")
    parser.add_argument("--fps", type=float, help=f"frame rate of the mp4 (default: the video's, else {DEFAULT_FPS:g})")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--memory", choices=MEMORY_PRESETS, default="exact",
                        help="how much memory each tracked frame attends to: exact (SAM 2's attention) or fast "
                        "(tracked frames' memory pooled 2x2: about 1.6x less time per object and frame at "
                        "1024 px, slightly different masks; torch backend) (default: exact)")
    add_model_options(parser, backends=True)
    parser.set_defaults(func=run_track, prompt_items=[])


def prompt_grammar() -> str:
    """The prompt grammar and file format, from the prompts module's docstring."""
    from masklet.cli import prompts

    return prompts.__doc__.split("\n\n", 1)[1]


def run_track(args: argparse.Namespace) -> int:
    from masklet.io import VideoReadError, open_video

    prompt_set = PromptSet()
    prompts_from_arguments(args.prompt_items, prompt_set)
    if args.prompts:
        prompts_from_file(args.prompts, prompt_set)
    prompts = prompt_set.ordered()
    check_output_location(args.output, is_folder=args.format in ("davis", "sav"))
    if not prompts:
        raise CliError("no prompts: give --point, --box or --mask (after --obj ID), or --prompts FILE.json")
    if args.max_frames is not None and args.max_frames < 1:
        raise CliError(f"--max-frames must be >= 1, got {args.max_frames}")
    if args.fps is not None and not args.fps > 0:
        raise CliError(f"--fps must be > 0, got {args.fps}")
    try:
        video = open_video(args.video)
    except VideoReadError as e:
        raise CliError(f"cannot read video: {e}") from None
    with video:
        if video.num_frames is None:
            raise CliError(f"{args.video} is a live stream; track needs a video file or a folder of frames")
        num_frames = min(video.num_frames, args.max_frames or video.num_frames)
        check_prompts(prompts, args.format, num_frames, video.width, video.height)
        masks = {(p.obj_id, p.frame): read_mask_file(p.mask, video.width, video.height)
                 for p in prompts if p.mask is not None}
        model = resolve_model(args)
        try:
            with FrameSpill(num_frames) as results:
                obj_ids = track(model, video, prompts, masks, num_frames, args.format, results,
                                show_progress=not args.no_progress, memory=args.memory)
                write_results(args, video, results, obj_ids)
        except VideoReadError as e:
            raise CliError(f"cannot read video: {e}") from None
        except OptionError as e:
            raise CliError(f"--memory {args.memory}: {e}") from None
    print(f"tracked {len(obj_ids)} object(s) over {num_frames} frames; wrote {args.output}")
    return 0


def check_prompts(prompts: list[FramePrompt], form: str, num_frames: int, width: int, height: int) -> None:
    for prompt in prompts:
        if prompt.frame >= num_frames:
            raise CliError(f"{prompt.where()}: the frame is past the last tracked frame {num_frames - 1}")
        if form == "davis" and not 1 <= prompt.obj_id <= MAX_OBJECT_ID:
            raise CliError(f"object id {prompt.obj_id}: DAVIS PNGs hold ids 1..{MAX_OBJECT_ID}; renumber the objects")
        check_clicks(prompt.points, prompt.labels, prompt.box, width, height, f"{prompt.where()}: ")


def track(model, video, prompts: list[FramePrompt], masks: dict, num_frames: int, form: str,
          results: FrameSpill, show_progress: bool, memory: str = "exact") -> list:
    """Prompt the objects, track them over frames 0..num_frames-1 (forward from the first
    prompted frame, then backward from it) with memory preset `memory`, put what `frame_output`
    keeps for `form` of each frame into `results`; returns the object ids. The session keeps
    only the memory the passes read (`bounded_memory`) and the results wait on disk, so memory
    does not grow with the video."""
    from masklet import VideoPredictor

    predictor = VideoPredictor(model, show_progress=False, memory=memory)
    state = predictor.init_state(video, bounded_memory=True)
    for prompt in prompts:
        if prompt.mask is not None:
            predictor.add_new_mask(state, prompt.frame, prompt.obj_id, masks[prompt.obj_id, prompt.frame])
        else:
            predictor.add_new_points_or_box(
                state, prompt.frame, prompt.obj_id,
                points=np.array(prompt.points, np.float32) if prompt.points else None,
                labels=np.array(prompt.labels, np.int32) if prompt.points else None,
                box=np.array(prompt.box, np.float32) if prompt.box is not None else None,
            )
    start = min(p.frame for p in prompts)
    passes = [predictor.propagate(state, start, num_frames - 1 - start)]
    if start > 0:
        passes.append(predictor.propagate(state, start, start, reverse=True))
    with tqdm(total=num_frames, desc="tracking", unit="frame", disable=not show_progress) as bar:
        for frames in passes:
            for result in frames:
                if result.frame_idx not in results:
                    results[result.frame_idx] = frame_output(result, form)
                    bar.update()
    return list(state.obj_ids)


def frame_output(result: FrameResult, form: str) -> np.ndarray:
    """What is kept of a tracked frame for output format `form`: for davis its label map [H, W]
    (`logits_to_label_map`: where objects overlap, the highest logit wins, as in `masklet eval
    run-vos`), otherwise the objects' masks packed along the width [N, H, ceil(W / 8)]."""
    if form == "davis":
        return logits_to_label_map(to_numpy(result.logits), result.obj_ids, result.mask_threshold)
    return np.packbits(result.masks, axis=-1)


def write_results(args: argparse.Namespace, video, results: FrameSpill, obj_ids: list) -> None:
    """Write the tracked frames ({frame: `frame_output`}) in --format."""
    from masklet.io import (
        CocoImage,
        CocoInstance,
        VideoOverlayWriter,
        write_coco_json,
        write_davis_png,
        write_sav_pngs,
    )

    width, height = video.width, video.height
    video_name = Path(args.video).stem

    def frame_masks(frame_idx: int) -> np.ndarray:
        return np.unpackbits(results[frame_idx], axis=-1, count=width).astype(bool)

    frames = sorted(results)
    if args.format == "davis":
        with staged_folder(args.output) as folder:
            for t in frames:
                write_davis_png(folder / f"{t:05d}.png", results[t])
    elif args.format == "sav":
        with staged_folder(args.output) as folder:
            for t in frames:
                write_sav_pngs(folder, video_name, t, dict(zip(obj_ids, frame_masks(t))))
    elif args.format == "coco":
        images = [
            CocoImage(f"{video_name}/{t:05d}", height, width,
                      [CocoInstance(m, obj_id) for obj_id, m in zip(obj_ids, frame_masks(t)) if m.any()], id=t)
            for t in frames
        ]
        write_coco_json(args.output, images, {obj_id: f"object {obj_id}" for obj_id in obj_ids})
    else:
        fps = args.fps or video.fps or DEFAULT_FPS
        with VideoOverlayWriter(args.output, fps=fps, size=(width, height)) as writer:
            for t in frames:
                writer.write(video[t], frame_masks(t), obj_ids)
