"""Which memories and pointers a frame attends to, checked against plain statements of
SAM 2's rules."""

from __future__ import annotations

import dataclasses

import torch

import masklet
from masklet.predict.memory_bank import FrameOutput, ObjectMemory, closest_cond_frames, select_memory

CONFIG = masklet.get_config("sam2.1-hiera-tiny")


def output(tag: int) -> FrameOutput:
    return FrameOutput(pred_masks=None, obj_ptr=torch.full((1, 4), float(tag)), object_score_logits=torch.ones(1, 1))


def memory(cond: list[int], tracked: list[int]) -> ObjectMemory:
    return ObjectMemory(cond={t: output(t) for t in cond}, non_cond={t: output(t) for t in tracked})


def frames_of(pairs) -> list[int]:
    return [int(out.obj_ptr[0, 0]) for _, out in pairs]


def test_forward_selection_takes_cond_frames_then_last_six_frames_oldest_first():
    mem = memory(cond=[0], tracked=list(range(1, 20)))
    selection = select_memory(mem, 20, reverse=False, num_frames=50, config=CONFIG)
    assert [slot for slot, _ in selection.spatial] == [0, 1, 2, 3, 4, 5, 6]
    assert frames_of(selection.spatial) == [0, 14, 15, 16, 17, 18, 19]
    # pointers: the past conditioning frame, then frames 19 .. 5 (15 previous frames)
    assert [d for d, _ in selection.pointers] == [20] + list(range(1, 16))
    assert frames_of(selection.pointers) == [0] + list(range(19, 4, -1))


def test_reverse_selection_mirrors_and_signs_distances():
    mem = memory(cond=[30, 5], tracked=list(range(21, 30)))
    selection = select_memory(mem, 20, reverse=True, num_frames=31, config=CONFIG)
    assert frames_of(selection.spatial) == [30, 5, 26, 25, 24, 23, 22, 21]
    # only conditioning frames not in the future (>= 20 when reversing) give pointers;
    # distances count frames in the direction of travel
    assert selection.pointers[0][0] == 10 and frames_of(selection.pointers[:1]) == [30]
    assert frames_of(selection.pointers[1:]) == list(range(21, 30))
    assert [d for d, _ in selection.pointers[1:]] == list(range(1, 10))


def test_missing_frames_are_skipped_and_pointer_window_follows_video_length():
    mem = memory(cond=[0], tracked=[1, 3, 4])
    selection = select_memory(mem, 5, reverse=False, num_frames=6, config=CONFIG)
    assert frames_of(selection.spatial) == [0, 1, 3, 4]
    assert [slot for slot, _ in selection.spatial] == [0, 3, 5, 6]
    # min(num_frames, 16) = 6 pointers at most: cond + distances 1..5 that exist
    assert frames_of(selection.pointers) == [0, 4, 3, 1]


def test_unsigned_distances_for_sam20():
    config = masklet.get_config("sam2-hiera-tiny")
    selection = select_memory(memory(cond=[10], tracked=[]), 4, reverse=True, num_frames=20, config=config)
    assert [d for d, _ in selection.pointers] == [6]


def test_memory_stride_takes_every_rth_frame():
    config = dataclasses.replace(CONFIG, memory_temporal_stride_for_eval=2)
    selection = select_memory(memory(cond=[0], tracked=list(range(1, 40))), 30, reverse=False, num_frames=40, config=config)
    assert frames_of(selection.spatial) == [0, 20, 22, 24, 26, 28, 29]


def test_closest_cond_frames_keeps_nearest_before_and_after():
    cond = {t: output(t) for t in (0, 10, 20, 30, 40)}
    chosen, rest = closest_cond_frames(25, cond, max_frames=3)
    assert sorted(chosen) == [10, 20, 30] and sorted(rest) == [0, 40]
    chosen, rest = closest_cond_frames(25, cond, max_frames=-1)
    assert sorted(chosen) == [0, 10, 20, 30, 40] and not rest
    # frames not chosen still serve as ordinary memories when they are among the last six
    config = dataclasses.replace(CONFIG, max_cond_frames_in_attn=2)
    mem = ObjectMemory(cond={t: output(t) for t in (22, 24, 40)}, non_cond={t: output(t) for t in (23, 25)})
    selection = select_memory(mem, 26, reverse=False, num_frames=50, config=config)
    assert frames_of(selection.spatial) == [24, 40, 22, 23, 25]


def test_layout_groups_equal_token_counts():
    a = select_memory(memory(cond=[0], tracked=[1, 2]), 3, False, 10, CONFIG)
    b = select_memory(memory(cond=[1], tracked=[0, 2]), 3, False, 10, CONFIG)
    c = select_memory(memory(cond=[0], tracked=[2]), 3, False, 10, CONFIG)
    assert a.layout() == b.layout() != c.layout()
