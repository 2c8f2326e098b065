"""VideoPredictor behaviour: batching, prompts at any time, both directions, outputs, errors.

Parity with the reference is in tests/test_parity_video.py; these tests use a very small
config on real frames so they can cover many paths quickly."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import micro_config, seeded_model, visible_objects

import masklet
from masklet.io.rle import rle_decode
from masklet.model.arrays import TorchArrays
from masklet.predict.postprocess import component_areas, fill_holes


def new_predictor(model, **kwargs):
    return masklet.VideoPredictor(model, show_progress=False, **kwargs)


def prompt_three(predictor, state, frame_idx=0):
    h, w = state["video_height"], state["video_width"]
    predictor.add_new_points_or_box(state, frame_idx, 1, points=[[210, 125]], labels=[1])
    predictor.add_new_points_or_box(state, frame_idx, 2, box=[300, 100, 400, 225])
    mask = np.zeros((h, w), bool)
    mask[150:250, 40:160] = True
    predictor.add_new_mask(state, frame_idx, 3, mask)


def count_batches(model, monkeypatch) -> tuple[list[int], list[int]]:
    """Record the rows of every frame-queries call (the frame's part of memory attention) and
    the batch size of every memory-attention call."""
    query_rows, sizes = [], []
    frame_queries, attend_memory = model.memory_attention.frame_queries, model.memory_attention.attend_memory

    def queries_spy(curr, curr_pos):
        query_rows.append(curr.shape[0])
        return frame_queries(curr, curr_pos)

    def attend_spy(queries, memory, memory_pos, **kwargs):
        sizes.append(memory.shape[0])
        return attend_memory(queries, memory, memory_pos, **kwargs)

    monkeypatch.setattr(model.memory_attention, "frame_queries", queries_spy)
    monkeypatch.setattr(model.memory_attention, "attend_memory", attend_spy)
    return query_rows, sizes


def test_objects_tracked_as_one_batch_equal_tracking_each_alone(micro_model, bedroom_frames, monkeypatch):
    frames = bedroom_frames[:6]
    predictor = new_predictor(micro_model, attention_batch_size=None)
    query_rows, sizes = count_batches(micro_model, monkeypatch)
    encodes = []
    forward_image = micro_model.forward_image
    monkeypatch.setattr(micro_model, "forward_image", lambda x: encodes.append(x.shape[0]) or forward_image(x))
    state = predictor.init_state(frames)
    prompt_three(predictor, state)
    together = {f: m for f, _, m in predictor.propagate_in_video(state)}
    assert sizes == [3] * 5, "frames 1..5 should each run one memory-attention batch of 3 objects"
    assert query_rows == [1] * 5, "the frame's own part of memory attention runs once per frame for all objects"
    assert len(encodes) == 6 and set(encodes) == {1}, "one image-encoder pass per frame"

    for k, obj_id in enumerate([1, 2, 3]):
        state = predictor.init_state(frames)
        prompt_three(predictor, state)
        for other in {1, 2, 3} - {obj_id}:
            predictor.remove_object(state, other)
        for frame_idx, obj_ids, masks in predictor.propagate_in_video(state):
            assert obj_ids == [obj_id]
            # batch size changes float rounding (then bfloat16 memory rounding), nothing more
            torch.testing.assert_close(masks[0], together[frame_idx][k], atol=5e-3, rtol=0)
            assert float(((masks[0] > 0) != (together[frame_idx][k] > 0)).float().mean()) <= 1e-3


def test_objects_with_different_memory_sizes_are_grouped(micro_model, bedroom_frames, monkeypatch):
    predictor = new_predictor(micro_model, attention_batch_size=None)
    state = predictor.init_state(bedroom_frames[:6])
    predictor.add_new_points_or_box(state, 0, 1, points=[[210, 125]], labels=[1])
    predictor.add_new_points_or_box(state, 0, 2, points=[[100, 60]], labels=[1])
    predictor.add_new_points_or_box(state, 2, 3, points=[[300, 200]], labels=[1])
    query_rows, sizes = count_batches(micro_model, monkeypatch)
    frames = [f for f, _, _ in predictor.propagate_in_video(state)]
    assert frames == list(range(6))
    # frame 0: only object 3 is tracked (1 and 2 are prompted there); frame 1: 1 and 2 share a
    # memory layout, 3 has its own; frame 2: 3 is prompted; from frame 3 on all three banks
    # hold the same number of memories and pointers
    assert sizes == [1, 2, 1, 2, 3, 3, 3]
    assert query_rows == [1] * 6, "one frame-queries call on each frame where some object reads memory"


def test_attention_batch_size_caps_memory_attention_calls(micro_model, bedroom_frames, monkeypatch):
    """On the CPU ("auto") memory attention runs one object at a time; results do not depend
    on the batch size beyond float rounding."""
    query_rows, sizes = count_batches(micro_model, monkeypatch)
    outputs = {}
    for batch_size in ("auto", 2):
        query_rows.clear()
        sizes.clear()
        predictor = new_predictor(micro_model, attention_batch_size=batch_size)
        state = predictor.init_state(bedroom_frames[:3])
        prompt_three(predictor, state)
        outputs[batch_size] = [m for _, _, m in predictor.propagate_in_video(state)]
        assert max(sizes) == (1 if batch_size == "auto" else 2) and sum(sizes) == 3 * 2
        assert query_rows == [1, 1], "the objects share their frame's queries, however they are batched"
    for auto, paired in zip(outputs["auto"], outputs[2]):
        torch.testing.assert_close(auto, paired, atol=5e-3, rtol=0)
    with pytest.raises(ValueError, match="attention_batch_size"):
        new_predictor(micro_model, attention_batch_size=0).init_state(bedroom_frames[:1])


def test_tracking_before_first_prompt_in_both_directions(micro_model, bedroom_frames):
    """Frames before an object's first prompt have no object pointers: the reference fails
    there on the CPU (bfloat16 memories without autocast)."""
    predictor = new_predictor(micro_model)
    state = predictor.init_state(bedroom_frames[:6])
    predictor.add_new_points_or_box(state, 3, 7, points=[[210, 125]], labels=[1])
    backward = [f for f, ids, _ in predictor.propagate_in_video(state, reverse=True)]
    assert backward == [3, 2, 1, 0]
    predictor.add_new_points_or_box(state, 5, 8, points=[[100, 60]], labels=[1])
    forward = [(f, ids) for f, ids, _ in predictor.propagate_in_video(state, start_frame_idx=0)]
    assert forward == [(f, [7, 8]) for f in range(6)]
    with_bfloat16 = state.objects[7].memory.non_cond[0].maskmem_features
    assert with_bfloat16.dtype == torch.bfloat16


def test_corrections_and_new_objects_after_propagation(micro_model, bedroom_frames):
    predictor = new_predictor(micro_model)
    state = predictor.init_state(bedroom_frames[:5])
    predictor.add_new_points_or_box(state, 0, 1, points=[[210, 125]], labels=[1])
    first = {f: m.clone() for f, _, m in predictor.propagate_in_video(state)}
    _, ids, masks = predictor.add_new_points_or_box(state, 3, 1, points=[[215, 130]], labels=[0], clear_old_points=False)
    assert ids == [1] and masks.shape == (1, 1, 270, 480)
    assert not torch.equal(masks, first[3]), "a negative click must change the mask"
    coords, labels = state.objects[1].points[3]
    assert labels.tolist() == [[0]]  # frame 3 had no clicks before
    _, ids, masks = predictor.add_new_points_or_box(state, 2, "cup", points=[[60, 200]], labels=[1])
    assert ids == [1, "cup"] and masks.shape[0] == 2
    results = list(predictor.propagate(state))
    assert [r.obj_ids for r in results] == [[1, "cup"]] * 5


def test_frame_results_offer_masks_logits_rle_and_scores(micro_model, bedroom_frames):
    predictor = new_predictor(micro_model)
    state = predictor.init_state(bedroom_frames[:3])
    prompt_three(predictor, state)
    for result in predictor.propagate(state):
        assert result.logits.shape == (3, 270, 480)
        assert result.masks.dtype == bool and result.masks.shape == (3, 270, 480)
        assert result.object_score_logits.shape == (3,) and result.visible.dtype == bool
        for rle, mask in zip(result.rle(), result.masks):
            assert np.array_equal(rle_decode(rle), mask)
        assert set(result.by_object("rle")) == {1, 2, 3}
        assert np.array_equal(result.by_object("mask")[2], result.masks[1])
    with pytest.raises(ValueError, match="unknown output form"):
        result.by_object("polygon")


def test_object_scores_mark_absent_objects(bedroom_frames):
    model = seeded_model(micro_config(128))  # unshifted: the seeded head calls objects absent
    predictor = new_predictor(model)
    state = predictor.init_state(bedroom_frames[:3])
    predictor.add_new_points_or_box(state, 0, 1, points=[[210, 125]], labels=[1])
    results = list(predictor.propagate(state))
    absent = [r for r in results if not r.visible[0]]
    assert absent, "expected the unshifted seeded model to call the object absent somewhere"
    for r in absent:
        assert not r.masks.any() and float(r.logits.max()) == -1024.0


def test_non_overlapping_masks(micro_model, bedroom_frames):
    predictor = new_predictor(micro_model, non_overlap_masks=True)
    state = predictor.init_state(bedroom_frames[:3])
    prompt_three(predictor, state)
    for _, _, masks in predictor.propagate_in_video(state):
        assert int((masks > 0).sum(dim=0).max()) <= 1


def test_fill_holes_fills_only_small_background_regions():
    logits = torch.full((1, 1, 20, 20), 5.0)
    logits[..., 2:4, 2:4] = -3.0  # 4-pixel hole
    logits[..., 10:15, 10:15] = -3.0  # 25-pixel hole
    filled = fill_holes(logits, 8, TorchArrays("cpu", torch.float32))
    assert torch.all(filled[..., 2:4, 2:4] == 0.1)
    assert torch.all(filled[..., 10:15, 10:15] == -3.0)
    assert torch.equal(filled[logits > 0], logits[logits > 0])


def test_predictor_fills_holes_on_cpu(micro_model, bedroom_frames):
    outputs = {}
    for area in (0, 30):
        predictor = new_predictor(micro_model, fill_hole_area=area)
        state = predictor.init_state(bedroom_frames[:1])
        predictor.add_new_points_or_box(state, 0, 1, points=[[210, 125]], labels=[1])
        outputs[area] = state.objects[1].pending[0].output.pred_masks[0, 0].numpy()
    raw, filled = outputs[0], outputs[30]
    holes = component_areas(raw <= 0)
    small = (holes > 0) & (holes <= 30)
    assert np.all(filled[small] == np.float32(0.1))
    assert np.array_equal(filled[~small], raw[~small])


def test_state_items_and_size(micro_model, bedroom_frames):
    predictor = new_predictor(micro_model)
    state = predictor.init_state(bedroom_frames[:4], offload_state_to_cpu=True)
    assert (state["num_frames"], state["video_height"], state["video_width"]) == (4, 270, 480)
    prompt_three(predictor, state)
    assert state["obj_ids"] == [1, 2, 3]
    before = state.nbytes()
    list(predictor.propagate_in_video(state))
    assert state.nbytes() > before > 0
    predictor.reset_state(state)
    assert state.obj_ids == [] and state.nbytes() == 0


def test_clear_and_remove(micro_model, bedroom_frames):
    predictor = new_predictor(micro_model)
    state = predictor.init_state(bedroom_frames[:3])
    prompt_three(predictor, state)
    list(predictor.propagate_in_video(state))
    frame_idx, ids, masks = predictor.clear_all_prompts_in_frame(state, 0, 2)
    assert (frame_idx, ids) == (0, [1, 2, 3]) and masks.shape[0] == 3
    with pytest.raises(RuntimeError, match="object id 2 has no prompts"):
        list(predictor.propagate_in_video(state))
    ids, updated = predictor.remove_object(state, 3)
    assert ids == [1, 2] and [f for f, _ in updated] == [0]
    assert predictor.remove_object(state, 99) == ([1, 2], [])
    with pytest.raises(KeyError, match="99"):
        predictor.remove_object(state, 99, strict=True)
    predictor.remove_object(state, 2)
    assert [ids for _, ids, _ in predictor.propagate_in_video(state)] == [[1]] * 3


def test_bad_input_gets_clear_errors(micro_model, bedroom_frames):
    predictor = new_predictor(micro_model)
    state = predictor.init_state(bedroom_frames[:3])
    with pytest.raises(RuntimeError, match="no object has prompts"):
        list(predictor.propagate_in_video(state))
    with pytest.raises(IndexError, match="outside the video's 3 frames"):
        predictor.add_new_points_or_box(state, 3, 1, points=[[10, 10]], labels=[1])
    with pytest.raises(ValueError, match=r"point \(500, 10\) in pixels lies outside the 480x270 image"):
        predictor.add_new_points_or_box(state, 0, 1, points=[[500, 10]], labels=[1])
    with pytest.raises(ValueError, match="labels may only hold"):
        predictor.add_new_points_or_box(state, 0, 1, points=[[10, 10]], labels=[7])
    with pytest.raises(ValueError, match="given together"):
        predictor.add_new_points_or_box(state, 0, 1, points=[[10, 10]])
    with pytest.raises(ValueError, match="box must come before"):
        predictor.add_new_points_or_box(state, 0, 1, box=[1, 1, 20, 20], clear_old_points=False)
    with pytest.raises(ValueError, match="x1 <= x2"):
        predictor.add_new_points_or_box(state, 0, 1, box=[30, 1, 20, 20])
    with pytest.raises(ValueError, match="2-D"):
        predictor.add_new_mask(state, 0, 1, np.zeros((2, 270, 480)))
    with pytest.raises(KeyError, match="unknown object id 5"):
        predictor.clear_all_prompts_in_frame(state, 0, 5)
    assert state.obj_ids == [], "failed calls must not leave objects behind"
    with pytest.raises(ValueError, match="StreamTracker"):
        predictor.init_state(iter(bedroom_frames[:2]))
    with pytest.raises(TypeError, match="SAM2Model"):
        masklet.VideoPredictor(object())


def test_micro_model_is_visible_by_default(micro_model):
    """The shared fixture's object-score shift (see conftest.visible_objects) is in place."""
    reference = visible_objects(seeded_model(micro_config(128)), bias=0.0)
    key = "sam_mask_decoder.pred_obj_score_head.layers.2.bias"
    shift = micro_model.get_parameter(key) - reference.get_parameter(key)
    assert torch.allclose(shift, torch.full_like(shift, 2.0))


def test_bfloat16_model_tracks(micro_model, bedroom_frames):
    """Every dtype boundary (bfloat16 weights, memories and prompts; float32 outputs) holds
    in both directions and for objects tracked before their first prompt."""
    import copy

    model = copy.deepcopy(micro_model).to(torch.bfloat16)
    predictor = new_predictor(model)
    state = predictor.init_state(bedroom_frames[:4])
    prompt_three(predictor, state, frame_idx=1)
    forward = list(predictor.propagate(state, start_frame_idx=0))
    backward = list(predictor.propagate(state, start_frame_idx=3, reverse=True))
    assert [r.frame_idx for r in forward + backward] == [0, 1, 2, 3, 3, 2, 1, 0]
    for result in forward + backward:
        assert result.logits.dtype == torch.float32 and bool(torch.isfinite(result.logits).all())


def test_correction_on_a_one_frame_video_is_finite(micro_model, bedroom_frames):
    """A one-frame video's pointer window is 1: its only pointer (distance 0) must not be
    divided by window - 1 = 0 (NaN scores and an empty mask)."""
    predictor = new_predictor(micro_model, add_all_frames_to_correct_as_cond=True)
    state = predictor.init_state(bedroom_frames[:1])
    predictor.add_new_points_or_box(state, 0, 1, points=[[210, 125]], labels=[1])
    list(predictor.propagate(state))
    _, _, logits = predictor.add_new_points_or_box(state, 0, 1, points=[[100, 60]], labels=[0], clear_old_points=False)
    assert torch.isfinite(logits).all()
    (result,) = list(predictor.propagate(state))
    assert torch.isfinite(result.object_score_logits).all()


def test_objects_without_memory_under_bfloat16_autocast(micro_model):
    """Training runs the engine under bfloat16 autocast, where the frame's features come out in
    bfloat16 and an object seen for the first time gets the float32 `no_mem_embed` added: the
    rows must still combine (this raised a dtype error in `condition_on_memory`)."""
    from masklet.predict.tracking import TrackingEngine

    engine = TrackingEngine(micro_model)
    size = micro_model.image_size
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        features = engine.frame_features(torch.randn(3, size, size))
        assert features.vision_feats.dtype == torch.bfloat16
        conditioned = engine.condition_on_memory(features, [None, None], num_frames=4)
    expected = features.vision_feats.float() + micro_model.no_mem_embed.reshape(1, -1, 1, 1)
    assert conditioned.shape == (2, *features.vision_feats.shape[1:])
    torch.testing.assert_close(conditioned.float(), expected.expand(2, -1, -1, -1), atol=0, rtol=0)
