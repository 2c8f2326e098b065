"""The Hugging Face layout checked numerically with the real transformers package (5.x): seeded
weights written by `masklet convert` load into transformers' `Sam2Model` with no missing or
unexpected key and give Masklet's masks, IoUs and object scores on a real photo (a click, a box
with clicks, a mask prompt); a model saved by transformers loads back into Masklet with the same
outputs. A transposed or permuted tensor in the key mapping fails here, where the key-and-shape
checks of tests/checkpoint/test_hf.py cannot see it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from conftest import davis_frame, seeded_model, visible_objects

import masklet
from masklet.backend.heads import image_embeddings
from masklet.cli import main
from masklet.config import get_config
from masklet.predict.resize import image_input

transformers = pytest.importorskip("transformers", minversion="5", reason="needs transformers 5.x (pip install 'transformers>=5')")

TOLERANCE = 1e-3  # float32 logits of two implementations of the same network


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """A seeded sam2.1-hiera-tiny as a Meta .pt and as the HF folder `masklet convert` writes."""
    folder = tmp_path_factory.mktemp("hf")
    masklet.save_model(seeded_model(get_config("sam2.1-hiera-tiny")), folder / "tiny.pt")
    assert main(["convert", str(folder / "tiny.pt"), str(folder / "tiny-hf")]) == 0
    return folder / "tiny.pt", folder / "tiny-hf"


def load_transformers(folder, model_class=None):
    """transformers' `Sam2Model` (or `model_class`) from a folder, every tensor accounted for."""
    from transformers.utils import logging

    logging.set_verbosity_error()
    model_class = model_class or transformers.Sam2Model
    model, info = model_class.from_pretrained(str(folder), output_loading_info=True)
    assert not any(info.values()), info  # every tensor found, none left over
    return model.eval()


def prompts(width: int, height: int, size: int):
    """(name, model-pixel points [1, N, 2], labels [1, N]) on the truck photo."""
    scale = torch.tensor([size / width, size / height])
    return [
        ("click", torch.tensor([[[500.0, 375.0]]]) * scale, torch.tensor([[1]])),
        ("box + clicks", torch.tensor([[[75.0, 275.0], [1725.0, 850.0], [500.0, 375.0], [1100.0, 700.0]]]) * scale,
         torch.tensor([[2, 3, 1, 0]])),
    ]


def compare(ours, theirs, image) -> None:
    """Masklet's decoder against transformers' Sam2Model on the same pixels and prompts."""
    size = ours.image_size
    with torch.inference_mode():
        pixels = image_input([image], size, ours.arrays)
        embed, high_res = image_embeddings(ours, pixels)
        for name, points, labels in prompts(image.shape[1], image.shape[0], size):
            for multimask in (True, False):
                expected = ours.decode_prompts(embed, high_res, points, labels, None, multimask)
                got = theirs(pixel_values=pixels, input_points=points[:, None], input_labels=labels[:, None],
                             multimask_output=multimask)
                where = f"{name}, multimask={multimask}"
                assert (got.pred_masks[:, 0] - expected.masks).abs().max() <= TOLERANCE, where
                assert (got.iou_scores[:, 0] - expected.ious).abs().max() <= TOLERANCE, where
                assert (got.object_score_logits.reshape(-1) - expected.object_score_logits.reshape(-1)).abs().max() <= TOLERANCE
        assert expected.masks.abs().max() > 1  # real logits, not a blank answer
        mask_input = (expected.masks[:, :1] * 0.5).clamp(-32, 32)
        expected = ours.decode_prompts(embed, high_res, points, labels, mask_input, False)
        got = theirs(pixel_values=pixels, input_points=points[:, None], input_labels=labels[:, None],
                     input_masks=mask_input, multimask_output=False)
        assert (got.pred_masks[:, 0] - expected.masks).abs().max() <= TOLERANCE, "mask prompt"


def test_masklet_convert_output_runs_in_transformers(checkpoints, truck_image):
    meta, hf = checkpoints
    compare(masklet.load_model(meta), load_transformers(hf), truck_image)


def test_a_model_saved_by_transformers_loads_in_masklet(checkpoints, truck_image, tmp_path):
    """transformers' video model holds every tensor (memory encoder and attention too): what it
    saves is the whole network, and Masklet reads it back bit for bit."""
    meta, hf = checkpoints
    video_model = load_transformers(hf, transformers.Sam2VideoModel)
    video_model.save_pretrained(tmp_path / "saved")
    ours, reference = masklet.load_model(tmp_path / "saved"), masklet.load_model(meta)
    assert ours.state_dict().keys() == reference.state_dict().keys()
    for key, tensor in reference.state_dict().items():
        assert torch.equal(ours.state_dict()[key], tensor), key
    compare(ours, load_transformers(tmp_path / "saved"), truck_image)


def test_video_tracking_matches_transformers(tmp_path):
    """Two clicked objects tracked through 4 DAVIS frames (tiny at 512 px), then a correction click on frame 2
    and the video tracked again: Masklet's low-res logits against transformers' Sam2VideoModel
    on the same preprocessed frames, so the memory modules' mapping is checked numerically too.
    (transformers' Sam2VideoProcessor needs torchvision, which is not installed beside this
    torch: the clicks are handed to its inference session as the processor would hand them.)"""
    from transformers.models.sam2_video.modeling_sam2_video import Sam2VideoInferenceSession

    from masklet.predict.resize import video_frame_input

    frames = [davis_frame("blackswan", i)[0] for i in range(4)]
    height, width = frames[0].shape[:2]
    config = dataclasses.replace(get_config("sam2.1-hiera-tiny"), name="tiny-512", image_size=512)  # a quarter of the work
    masklet.save_model(visible_objects(seeded_model(config)), tmp_path / "tiny-hf", format="hf")
    ours = masklet.load_model(tmp_path / "tiny-hf")
    theirs = load_transformers(tmp_path / "tiny-hf", transformers.Sam2VideoModel)
    session = Sam2VideoInferenceSession(
        video=torch.stack([torch.from_numpy(video_frame_input(f, ours.image_size)) for f in frames]),
        video_height=height, video_width=width, dtype=torch.float32,
    )
    predictor = masklet.VideoPredictor(ours, fill_hole_area=0, show_progress=False)  # transformers fills no holes
    state = predictor.init_state(np.stack(frames))

    def click(frame_idx: int, obj_id: int, points: list, labels: list, clear: bool = True) -> None:
        predictor.add_new_points_or_box(state, frame_idx, obj_id, points=points, labels=labels, clear_old_points=clear)
        obj_idx = session.obj_id_to_idx(obj_id)
        coords = torch.tensor(points, dtype=torch.float32) * torch.tensor([ours.image_size / width, ours.image_size / height])
        new = {"point_coords": coords[None, None], "point_labels": torch.tensor(labels, dtype=torch.int32)[None, None]}
        old = session.point_inputs_per_obj[obj_idx].get(frame_idx)
        if not clear and old is not None:
            new = {k: torch.cat([old[k], new[k]], dim=2) for k in new}
        session.add_point_inputs(obj_idx, frame_idx, new)
        session.obj_with_new_inputs = [*(session.obj_with_new_inputs or []), obj_id]

    def compare_tracks(start: int) -> None:
        with torch.inference_mode():
            got = {out.frame_idx: out.pred_masks for out in theirs.propagate_in_video_iterator(session, start_frame_idx=start)}
        for result in predictor.propagate(state, start_frame_idx=start):
            t = result.frame_idx
            expected = torch.cat([state.objects[o].memory.get(t).pred_masks for o in (1, 2)])  # [2, 1, 256, 256]
            assert expected.abs().max() > 1 and (got[t].reshape(expected.shape) - expected).abs().max() <= TOLERANCE, t

    click(0, 1, [[400, 200]], [1])
    click(0, 2, [[100, 400]], [1])
    with torch.inference_mode():
        theirs(inference_session=session, frame_idx=0)
    compare_tracks(0)
    click(2, 1, [[430, 300]], [0], clear=False)
    with torch.inference_mode():
        theirs(inference_session=session, frame_idx=2)
    compare_tracks(0)
