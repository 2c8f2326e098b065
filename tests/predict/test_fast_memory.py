"""Fast memory (`masklet.MemoryOptions`, `memory="fast"`): what each option reads, that it is
wired through VideoPredictor, StreamTracker and `masklet track`, that bad values are refused,
and that its masks on a real DAVIS clip stay close to exact mode's.

The IoU bars: masklet-nano on the first 10 frames of DAVIS blackswan, every frame's mask
against exact mode's; the lowest IoU over the frames measured (float32) is 0.965 reading only the
last tracked frame, 0.919 pooling the last 2 tracked frames, 0.883 pooling all 6 (the fast
preset) and 0.711 at 3/4 resolution (192 px: nano sees the swan on a 12x12 grid instead of 16x16, and its outline
drifts by a low-res pixel or two). Each bar is the measured figure less 0.05, room for rounding
on other CPUs, while a broken option (an object lost: IoU about 0; the memory of the wrong
frames or cells: a drifting mask) falls far below it. Whole sequences are scored by
benchmarks/fast_memory.py (J&F per option in benchmarks/results/fast_memory.md).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import davis_frame, run_cli

import masklet
from masklet import MemoryOptions
from masklet.errors import MaskletError, OptionError
from masklet.model.memory_attention import MemoryAttention
from masklet.predict.memory_bank import MEMORY_PRESETS, ObjectMemory, select_memory

CLIP = "blackswan"
CLIP_FRAMES = 10


@pytest.fixture(scope="module")
def clip():
    frames, masks = zip(*(davis_frame(CLIP, i) for i in range(CLIP_FRAMES)))
    return list(frames), masks[0]


def track_clip(model, clip, memory="exact") -> list[np.ndarray]:
    frames, first_mask = clip
    predictor = masklet.VideoPredictor(model, memory=memory, show_progress=False)
    state = predictor.init_state(frames)
    predictor.add_new_mask(state, 0, 1, first_mask)
    return [result.masks[0] for result in predictor.propagate(state)]


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


@pytest.fixture(scope="module")
def exact_masks(nano, clip):
    return track_clip(nano, clip)


# ---------------------------------------------------------------------- accuracy against exact


@pytest.mark.parametrize("memory, min_iou", [
    (MemoryOptions(recent_frames=1), 0.915), ("fast", 0.83), (MemoryOptions(pool=2, recent_frames=2), 0.87),
], ids=["last-frame", "fast", "pool-last-2"])
def test_memory_options_stay_close_to_exact(nano, clip, exact_masks, memory, min_iou):
    masks = track_clip(nano, clip, memory)
    ious = [iou(a, b) for a, b in zip(masks, exact_masks)]
    assert len(masks) == CLIP_FRAMES and min(ious) >= min_iou, ious


def test_lower_resolution_stays_close_to_exact(clip, exact_masks):
    model = masklet.load_model("masklet-nano", image_size=192)
    assert model.image_size == 192 and model.sam_prompt_encoder.image_embedding_size == (12, 12)
    ious = [iou(a, b) for a, b in zip(track_clip(model, clip), exact_masks)]
    assert min(ious) >= 0.66, ious


# ---------------------------------------------------------------------- what is read


def test_recent_frames_keeps_the_conditioning_frame_and_the_nearest_tracked_ones(nano):
    outputs = {t: object() for t in range(10)}
    memory = ObjectMemory(cond={0: outputs[0]}, non_cond={t: outputs[t] for t in range(1, 9)})
    selections = {
        k: select_memory(memory, 9, False, 10, nano.config, MemoryOptions(recent_frames=k)) for k in (None, 2, 0)
    }
    frames = {k: [next(t for t, o in outputs.items() if o is out) for _, out in s.spatial] for k, s in selections.items()}
    assert frames == {None: [0, 3, 4, 5, 6, 7, 8], 2: [0, 7, 8], 0: [0]}
    assert [len(s.pointers) for s in selections.values()] == [9, 9, 9]  # pointers are all still read


@pytest.fixture
def attention_calls(monkeypatch):
    """Each memory-attention call's (spatial memory tokens, pooled tokens, pool)."""
    calls = []
    original = MemoryAttention.attend_memory

    def spy(self, queries, memory, memory_pos, num_obj_ptr_tokens=0, memory_pool=1, num_pooled_tokens=0):
        calls.append((memory.shape[1] - num_obj_ptr_tokens, num_pooled_tokens, memory_pool))
        return original(self, queries, memory, memory_pos, num_obj_ptr_tokens, memory_pool, num_pooled_tokens)

    monkeypatch.setattr(MemoryAttention, "attend_memory", spy)
    return calls


GRID_TOKENS = 16 * 16  # masklet-nano: 256 px / 16
# frame 4 of 5 reads the memories of frames 0 (prompted) and 1-3; fast pools those of 1-3 in 2x2 cells
FAST_ON_FRAME_4 = (GRID_TOKENS * 4, GRID_TOKENS * 3, 2)


def test_video_predictor_reads_the_fast_preset(nano, clip, attention_calls):
    frames, first_mask = clip
    predictor = masklet.VideoPredictor(nano, memory="fast", show_progress=False)
    assert predictor.options.memory == MEMORY_PRESETS["fast"] == MemoryOptions(pool=2)
    state = predictor.init_state(frames[:5])
    predictor.add_new_mask(state, 0, 1, first_mask)
    list(predictor.propagate(state))
    assert attention_calls[-1] == FAST_ON_FRAME_4
    # init_state chooses per video; exact attends to every token of every frame
    attention_calls.clear()
    state = predictor.init_state(frames[:5], memory="exact")
    predictor.add_new_mask(state, 0, 1, first_mask)
    list(predictor.propagate(state))
    assert attention_calls[-1] == (GRID_TOKENS * 4, 0, 1)


def test_stream_tracker_reads_the_fast_preset(nano, clip, attention_calls):
    frames, first_mask = clip
    tracker = masklet.StreamTracker(nano, memory="fast")
    results = list(tracker.run(frames[:5], prompts={0: [{"obj_id": 1, "mask": first_mask}]}))
    assert len(results) == 5 and attention_calls[-1] == FAST_ON_FRAME_4


def test_exact_is_the_default(nano, clip, attention_calls):
    frames, first_mask = clip
    for front in (masklet.VideoPredictor(nano, show_progress=False), masklet.StreamTracker(nano)):
        assert front.options.memory == MemoryOptions() == MEMORY_PRESETS["exact"]
    assert masklet.TrackingOptions().memory == MemoryOptions()
    list(masklet.StreamTracker(nano).run(frames[:4], prompts={0: [{"obj_id": 1, "mask": first_mask}]}))
    assert {(pooled, pool) for _, pooled, pool in attention_calls} == {(0, 1)}


def test_cli_track_with_the_fast_preset(capsys, tmp_path, clip, monkeypatch):
    from PIL import Image

    chosen = []
    original = masklet.VideoPredictor.__init__

    def init(self, *args, memory="exact", **kwargs):
        chosen.append(memory)
        original(self, *args, memory=memory, **kwargs)

    monkeypatch.setattr(masklet.VideoPredictor, "__init__", init)
    frames, _ = clip
    for i, frame in enumerate(frames[:3]):
        Image.fromarray(frame).save(tmp_path / f"{i:05d}.jpg")
    code, out, err = run_cli(capsys, "track", tmp_path, "--point", "420,230", "--memory", "fast",
                             "--output", tmp_path / "masks", "--no-progress")
    assert code == 0, err
    assert chosen == ["fast"] and len(list((tmp_path / "masks").glob("*.png"))) == 3
    code, _, err = run_cli(capsys, "track", tmp_path, "--point", "420,230", "--memory", "turbo", "--output", tmp_path / "m")
    assert code == 2 and "invalid choice: 'turbo'" in err


# ---------------------------------------------------------------------- bad values


@pytest.mark.parametrize("kwargs, message", [
    ({"pool": 0}, "pool must be a positive int"),
    ({"pool": 1.5}, "pool must be a positive int"),
    ({"pool": True}, "pool must be a positive int"),
    ({"recent_frames": -1}, "recent_frames must be None"),
    ({"recent_frames": "2"}, "recent_frames must be None"),
    ({"pool_conditioning": 1}, "pool_conditioning must be True or False"),
])
def test_bad_option_values_are_refused(kwargs, message):
    with pytest.raises(OptionError, match=message):
        MemoryOptions(**kwargs)


def test_options_the_model_cannot_honour_are_refused(nano, clip):
    with pytest.raises(MaskletError, match="memory must be one of 'exact', 'fast'"):
        masklet.VideoPredictor(nano, memory="turbo")
    with pytest.raises(MaskletError, match="memory must be one of"):
        masklet.StreamTracker(nano, memory=None)
    with pytest.raises(OptionError, match="pool 3 does not divide masklet-nano's 16x16 feature grid"):
        masklet.StreamTracker(nano, memory=MemoryOptions(pool=3))
    with pytest.raises(OptionError, match="remembers at most 6 tracked frames"):
        masklet.VideoPredictor(nano).init_state(clip[0][:2], memory=MemoryOptions(recent_frames=7))
    with pytest.raises(OptionError, match="memory must be a MemoryOptions"):
        masklet.TrackingOptions(memory="fast")


def test_bad_image_sizes_are_refused():
    with pytest.raises(MaskletError, match="image_size must be a multiple of 32, got 200"):
        masklet.load_model("masklet-nano", image_size=200)
    with pytest.raises(OptionError, match="takes the image size from the export"):
        masklet.load_model("some-folder", backend="onnx", image_size=512)


def test_onnx_backend_refuses_pooling(tmp_path, micro_model):
    from masklet.export import export_onnx

    export_onnx(micro_model, tmp_path / "onnx", verify=False)
    onnx_model = masklet.load_model(tmp_path / "onnx", backend="onnx")
    with pytest.raises(OptionError, match="runs inside the torch model's attention, not on the onnx backend"):
        masklet.VideoPredictor(onnx_model, memory="fast")
    masklet.StreamTracker(onnx_model, memory=MemoryOptions(recent_frames=2))  # selection works on any backend
