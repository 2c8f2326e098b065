"""Prompted segmentation and tracking through whole videos.

`VideoPredictor` mirrors the reference `SAM2VideoPredictor`: `init_state`, then prompts
(`add_new_points_or_box`, `add_new_mask`) for any object on any frame, then
`propagate_in_video` to get each object's mask on every frame (a masklet). Prompts can be added
at any time, also after propagating (new objects, correction clicks), and propagation can run
forwards or backwards. The state is a `TrackingSession` (masklet.predict.session), which holds
the rules; this class is the reference's API over it.

What differs from the reference:
  - frames are decoded lazily from any source `masklet.io.open_video` reads (video files,
    frame folders, arrays), never the whole video up front;
  - objects on a frame are tracked as one batch (shared image features, batched memory
    attention, decoder and memory encoder), with results equal to tracking them one by one;
  - small holes (`fill_hole_area`) are filled on the CPU too;
  - memories stored in bfloat16 are cast to the model's dtype before attention, so tracking
    an object over frames before its first prompt works without autocast;
  - `propagate` yields `FrameResult`s (logits, binary masks, RLE and object scores).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterator

from tqdm import tqdm

from masklet.backend.model import require_model
from masklet.io.video import VideoSource, open_video
from masklet.predict.memory_bank import MemoryOptions
from masklet.predict.results import FrameResult
from masklet.predict.session import TrackingOptions, TrackingSession

# The reference's name for a video session.
InferenceState = TrackingSession


class VideoPredictor:
    """Tracks prompted objects through a video (the reference `SAM2VideoPredictor` API).

    Arguments (defaults are those of the reference's `build_sam2_video_predictor`):
      model: a `SAM2Model` (see `masklet.load_model`), or the ONNX Runtime backend's model
        (`load_model(folder, backend="onnx")`), which runs without torch: results then hold
        numpy arrays instead of tensors.
      fill_hole_area, non_overlap_masks, clear_non_cond_mem_around_input,
      add_all_frames_to_correct_as_cond, mask_threshold, attention_batch_size: see
        `masklet.predict.session.TrackingOptions` (`fill_hole_area` > 0 fills holes on the
        CPU, where the reference silently skips it without its CUDA extension: use 0 to
        compare with it there).
      show_progress: a tqdm bar while propagating.
      memory: how much memory a tracked frame attends to: "exact" (SAM 2's attention, the
        default), "fast" (tracked frames' memories pooled 2x2: about 1.6x less time per
        object and frame at 1024 px, slightly different masks) or a `masklet.MemoryOptions`; `init_state` can
        choose it per video.
    """

    def __init__(
        self, model, fill_hole_area: int = 8, non_overlap_masks: bool = False,
        clear_non_cond_mem_around_input: bool = False, add_all_frames_to_correct_as_cond: bool = False,
        mask_threshold: float = 0.0, show_progress: bool = True, attention_batch_size: int | str | None = "auto",
        memory: str | MemoryOptions = "exact",
    ) -> None:
        self.model = require_model(model).eval()
        self.options = TrackingOptions(
            fill_hole_area, non_overlap_masks, clear_non_cond_mem_around_input, add_all_frames_to_correct_as_cond,
            mask_threshold, attention_batch_size, MemoryOptions.of(memory),
        )
        self.options.memory.check(self.model)
        self.show_progress = show_progress

    @classmethod
    def from_pretrained(cls, name_or_path: str, device="cpu", dtype=None, **kwargs) -> "VideoPredictor":
        """A predictor on `masklet.load_model(name_or_path, device=..., dtype=...)`."""
        from masklet.checkpoint import load_model

        return cls(load_model(name_or_path, device=device, dtype=dtype), **kwargs)

    @property
    def image_size(self) -> int:
        return self.model.image_size

    @property
    def device(self):
        return self.model.device

    # ------------------------------------------------------------------ session

    def init_state(
        self,
        video_path,
        offload_video_to_cpu: bool = False,
        offload_state_to_cpu: bool = False,
        async_loading_frames: bool = False,
        memory: str | MemoryOptions | None = None,
        bounded_memory: bool = False,
    ) -> TrackingSession:
        """Open a video session.

        `video_path`: anything `masklet.io.open_video` reads (a video file, a folder of
        frames, a list of frames or paths, a [T, H, W, 3] array) or an opened `VideoSource`.
        Frames are decoded lazily whatever the flags: `offload_video_to_cpu` and
        `async_loading_frames` are accepted for compatibility and change nothing.
        `offload_state_to_cpu` keeps per-frame outputs in CPU memory. `memory` overrides the
        predictor's memory option for this video (None: the predictor's).

        `bounded_memory` (Masklet's own): the session keeps each object's outputs only near the
        frame being tracked and near prompted frames (about 16 frames either side with the
        official configs), so its memory does not grow with the video's length. Passes that start
        at a prompted frame (the default start), forwards or backwards, give the same masks as
        without it; prompting or reading a frame whose output was released, or starting a pass
        where released outputs would be read, raises `ReleasedFrameError`. For long videos tracked
        from prompts given up front (as `masklet track` does); leave it off for interactive
        corrections anywhere in the video.
        """
        options = self.options if memory is None else replace(self.options, memory=MemoryOptions.of(memory))
        video = video_path if isinstance(video_path, VideoSource) else open_video(video_path)
        storage = "cpu" if offload_state_to_cpu else None
        return TrackingSession.for_video(self.model, video, options, storage, bounded_memory)

    def reset_state(self, inference_state: TrackingSession) -> None:
        """Forget every object, prompt and result (the video stays open)."""
        inference_state.reset()

    # ------------------------------------------------------------------ prompts

    def add_new_points_or_box(
        self,
        inference_state: TrackingSession,
        frame_idx: int,
        obj_id,
        points=None,
        labels=None,
        clear_old_points: bool = True,
        normalize_coords: bool = True,
        box=None,
    ):
        """Clicks and/or a box for object `obj_id` on a frame (a new object or a correction).

        points [N, 2] (x, y) with labels [N] (1 foreground, 0 background); box [4] x1, y1, x2,
        y2; pixels of the video unless `normalize_coords=False` (then in [0, 1]). With
        `clear_old_points=False` the clicks are added to the frame's earlier ones.
        Returns the reference's tuple (frame_idx, obj_ids, masks [num_objects, 1, H, W] logits
        on that frame): a torch.Tensor, a numpy array on the ONNX backend.
        """
        result = inference_state.add_points_or_box(
            frame_idx, obj_id, points=points, labels=labels, clear_old_points=clear_old_points,
            normalize_coords=normalize_coords, box=box,
        )
        return result.frame_idx, result.obj_ids, result.logits[:, None]

    def add_new_points(self, *args, **kwargs):
        """Same as `add_new_points_or_box` (the reference's older name)."""
        return self.add_new_points_or_box(*args, **kwargs)

    def add_new_mask(self, inference_state: TrackingSession, frame_idx: int, obj_id, mask):
        """A binary mask [H, W] for object `obj_id` on a frame; it is taken as the object's
        mask there. Returns (frame_idx, obj_ids, masks [num_objects, 1, H, W] logits)."""
        result = inference_state.add_mask(frame_idx, obj_id, mask)
        return result.frame_idx, result.obj_ids, result.logits[:, None]

    def clear_all_prompts_in_frame(self, inference_state: TrackingSession, frame_idx: int, obj_id, need_output: bool = True):
        """Remove the object's prompts on a frame; the frame becomes an ordinary tracked
        frame. Returns (frame_idx, obj_ids, masks) unless `need_output=False`."""
        frame_idx = inference_state.clear_prompts(frame_idx, obj_id)
        if not need_output:
            return None
        return frame_idx, inference_state.obj_ids, inference_state.result(frame_idx).logits[:, None]

    def remove_object(self, inference_state: TrackingSession, obj_id, strict: bool = False, need_output: bool = True):
        """Forget an object. Returns (remaining obj_ids, [(frame_idx, masks)] for the frames
        where it had prompts). Unknown ids are ignored unless `strict`."""
        state = inference_state
        prompted = state.remove_object(obj_id, strict)
        if not need_output or not state.objects:
            return state.obj_ids, []
        return state.obj_ids, [(t, state.result(t).logits[:, None]) for t in prompted]

    # ------------------------------------------------------------------ propagation

    def propagate_in_video(
        self, inference_state: TrackingSession, start_frame_idx: int | None = None,
        max_frame_num_to_track: int | None = None, reverse: bool = False,
    ) -> Iterator[tuple[int, list, Any]]:
        """Track every object frame by frame. Yields (frame_idx, obj_ids, masks
        [num_objects, 1, H, W] logits at video resolution).

        Starts at `start_frame_idx` (default: the earliest prompted frame) and runs over
        `max_frame_num_to_track` frames after it (default: to the end), backwards if
        `reverse`."""
        for result in self.propagate(inference_state, start_frame_idx, max_frame_num_to_track, reverse):
            yield result.frame_idx, result.obj_ids, result.logits[:, None]

    def propagate(
        self, inference_state: TrackingSession, start_frame_idx: int | None = None,
        max_frame_num_to_track: int | None = None, reverse: bool = False,
    ) -> Iterator[FrameResult]:
        """`propagate_in_video`, yielding `FrameResult`s (logits, masks, RLE, object scores)."""
        state = inference_state
        if not state.objects:
            raise RuntimeError("no object has prompts: add points, a box or a mask first")
        state.commit_prompts()
        frames = self.processing_order(state, start_frame_idx, max_frame_num_to_track, reverse)
        for frame_idx in tqdm(frames, desc="propagate in video", disable=not self.show_progress):
            yield state.track(frame_idx, reverse)

    @staticmethod
    def processing_order(state: TrackingSession, start, max_frames, reverse) -> range:
        """The frames `propagate` tracks, in order: from `start` (default: the earliest
        prompted frame) over `max_frames` frames after it (default: to the end), backwards if
        `reverse`."""
        if start is None:
            start = min(t for obj in state.objects.values() for t in obj.memory.cond)
        start = state.frames.check(start)
        if max_frames is None:
            max_frames = state.frames.num_frames
        if max_frames < 0:
            raise ValueError(f"max_frame_num_to_track must be >= 0, got {max_frames}")
        if reverse:
            end = max(start - max_frames, 0)
            return range(start, end - 1, -1) if start > 0 else range(0)
        end = min(start + max_frames, state.frames.num_frames - 1)
        return range(start, end + 1)
