"""Bounded-memory video sessions (`init_state(..., bounded_memory=True)`): the same masks as a
session that keeps everything, a state that stops growing with the video's length, and a
clear error wherever a released output would be needed.

Short memory reaches (few memory slots and pointers) let an 18-frame clip release frames; one
test uses the default reach (16 frames) over a longer clip."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from conftest import micro_config, seeded_model, visible_objects

import masklet
from masklet.errors import MaskletError
from masklet.predict.memory_bank import MemoryReach


def short_reach_model(num_maskmem: int, stride: int):
    config = dataclasses.replace(
        micro_config(128), num_maskmem=num_maskmem, max_obj_ptrs_in_encoder=4,
        memory_temporal_stride_for_eval=stride,
    )
    return visible_objects(seeded_model(config))


@pytest.fixture(scope="module")
def short_model():
    return short_reach_model(num_maskmem=3, stride=1)


def reach(model) -> int:
    r = MemoryReach.of(model.config)
    return max(r.spatial, r.pointers)


def new_predictor(model):
    return masklet.VideoPredictor(model, show_progress=False)


def prompt_objects(predictor, state):
    """Three objects prompted on frames 6 and 9 (a click, a box, a mask)."""
    predictor.add_new_points_or_box(state, 6, 1, points=[[210, 125]], labels=[1])
    predictor.add_new_points_or_box(state, 9, 2, box=[300, 100, 400, 225])
    mask = np.zeros((state.video_height, state.video_width), bool)
    mask[150:250, 40:160] = True
    predictor.add_new_mask(state, 6, 3, mask)


def both_directions(predictor, state) -> dict[int, torch.Tensor]:
    """Forward from the first prompt, then backward from it (what `masklet track` does):
    {frame: logits [objects, 1, H, W]}, each frame's first result."""
    results: dict[int, torch.Tensor] = {}
    for reverse in (False, True):
        for frame_idx, _, logits in predictor.propagate_in_video(state, reverse=reverse):
            results.setdefault(frame_idx, logits.clone())
    return results


@pytest.mark.parametrize("num_maskmem, stride", [(3, 1), (4, 2)])
def test_same_masks_as_keeping_everything(bedroom_frames, num_maskmem, stride):
    model = short_reach_model(num_maskmem, stride)
    predictor = new_predictor(model)
    results = {}
    for bounded in (False, True):
        state = predictor.init_state(bedroom_frames, bounded_memory=bounded)
        prompt_objects(predictor, state)
        results[bounded] = both_directions(predictor, state)
    assert sorted(results[True]) == list(range(len(bedroom_frames)))
    for frame_idx, logits in results[False].items():
        assert torch.equal(results[True][frame_idx], logits), f"frame {frame_idx} differs"
    kept = {f for obj in state.objects.values() for f in obj.memory.non_cond}
    assert max(kept) < len(bedroom_frames) - 1 or min(kept) > 0
    assert state.objects[1].memory.released.any(), "some frames must have been released"


def test_correction_near_the_current_frame_equals_keeping_everything(short_model, bedroom_frames):
    predictor = new_predictor(short_model)
    outputs = []
    for bounded in (False, True):
        state = predictor.init_state(bedroom_frames, bounded_memory=bounded)
        prompt_objects(predictor, state)
        list(predictor.propagate_in_video(state, start_frame_idx=6, max_frame_num_to_track=8))  # to frame 14
        _, _, corrected = predictor.add_new_points_or_box(state, 14, 1, points=[[215, 130]], labels=[0],
                                                          clear_old_points=False)
        outputs.append([corrected, *(m for _, _, m in predictor.propagate_in_video(state))])
    for kept_all, bounded in zip(*outputs):
        assert torch.equal(kept_all, bounded)


def test_state_stops_growing_with_the_video(micro_model, bedroom_frames):
    """Default reach (16 frames), 40 frames: past twice the reach the session holds the same
    number of outputs and bytes after every frame."""
    frames = (bedroom_frames * 3)[:40]
    predictor = new_predictor(micro_model)
    state = predictor.init_state(frames, bounded_memory=True)
    predictor.add_new_points_or_box(state, 0, 1, points=[[210, 125]], labels=[1])
    predictor.add_new_points_or_box(state, 0, 2, box=[300, 100, 400, 225])
    r = reach(micro_model)
    held = {}
    for frame_idx, _, _ in predictor.propagate_in_video(state):
        held[frame_idx] = (tuple(state.memory_stats()["frames"].items()), state.nbytes())
    # each object: its prompt's frame and the r - 1 frames after it, and the r frames up to the current one
    assert held[len(frames) - 1][0] == ((1, 2 * r), (2, 2 * r))
    assert len({held[t] for t in range(2 * r, len(frames))}) == 1


def test_released_frames_give_clear_errors(short_model, bedroom_frames):
    predictor = new_predictor(short_model)
    state = predictor.init_state(bedroom_frames, bounded_memory=True)
    prompt_objects(predictor, state)
    list(predictor.propagate_in_video(state))
    # kept: frames within 4 of the prompts on 6 and 9 (3..12) and of the last one (14..17)
    released = 13
    assert np.flatnonzero(state.objects[1].memory.released).tolist() == [released]
    points_before = dict(state.objects[1].points)
    with pytest.raises(masklet.ReleasedFrameError, match=f"object 1: frame {released} was tracked") as error:
        predictor.add_new_points_or_box(state, released, 1, points=[[215, 130]], labels=[1])
    assert isinstance(error.value, MaskletError) and isinstance(error.value, LookupError)
    assert state.objects[1].points == points_before, "a refused prompt must change nothing"
    with pytest.raises(masklet.ReleasedFrameError, match="bounded_memory=False"):
        predictor.add_new_mask(state, released, 2, np.ones((270, 480), bool))
    with pytest.raises(masklet.ReleasedFrameError):
        state.result(released)
    with pytest.raises(masklet.ReleasedFrameError):
        next(predictor.propagate_in_video(state, start_frame_idx=released + 1))
    # a prompt's result shows every object, so even a new object waits until the frame is tracked again
    with pytest.raises(masklet.ReleasedFrameError, match="object 1: frame 13"):
        predictor.add_new_points_or_box(state, released, 4, points=[[100, 60]], labels=[1])
    assert list(state.objects) == [1, 2, 3]
    assert [f for f, _, _ in predictor.propagate_in_video(state, max_frame_num_to_track=released - 6)][-1] == released
    predictor.add_new_points_or_box(state, released, 4, points=[[100, 60]], labels=[1])
    assert state.result(released).obj_ids == [1, 2, 3, 4]


def test_prompted_frames_stay_readable(short_model, bedroom_frames):
    predictor = new_predictor(short_model)
    state = predictor.init_state(bedroom_frames, bounded_memory=True)
    prompt_objects(predictor, state)
    list(predictor.propagate_in_video(state))
    ids, prompted = predictor.remove_object(state, 2)
    assert ids == [1, 3] and [t for t, _ in prompted] == [9]
    frame_idx, ids, masks = predictor.clear_all_prompts_in_frame(state, 6, 3)
    assert frame_idx == 6 and masks.shape == (2, 1, 270, 480)


def test_track_command_gives_the_masks_of_a_session_that_keeps_everything(short_model, bedroom_frames):
    """`masklet track` tracks with bounded memory and parks the results on disk: its label maps
    equal those of an ordinary session's passes."""
    from masklet.cli.prompts import FramePrompt
    from masklet.cli.track import track
    from masklet.io import logits_to_label_map, open_video
    from masklet.io.frame_spill import FrameSpill

    prompts = [FramePrompt(1, 6, points=[(210, 125)], labels=[1]), FramePrompt(2, 9, box=(300, 100, 400, 225))]
    with open_video(bedroom_frames) as video, FrameSpill(len(bedroom_frames)) as results:
        assert track(short_model, video, prompts, {}, len(bedroom_frames), "davis", results, False) == [1, 2]
        predictor = new_predictor(short_model)
        state = predictor.init_state(bedroom_frames)
        predictor.add_new_points_or_box(state, 6, 1, points=[[210, 125]], labels=[1])
        predictor.add_new_points_or_box(state, 9, 2, box=[300, 100, 400, 225])
        expected = both_directions(predictor, state)
        assert list(results) == sorted(expected)
        for t, logits in expected.items():
            assert np.array_equal(results[t], logits_to_label_map(logits[:, 0].numpy(), [1, 2], 0.0)), f"frame {t}"
