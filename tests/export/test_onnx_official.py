"""The official sam2.1-hiera-tiny and sam2.1-hiera-base-plus configs (1024 px, seeded weights),
each exported once and every graph, run by each backend of export folders (ONNX Runtime,
OpenVINO in float32), checked against torch on the real truck photo, the graphs
chained as tracking chains them: image features -> decoder masks -> memories -> memory attention.
The two differ in the Hiera trunk (base+: width 112, 24 blocks in stages of 2, 3, 16, 3)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import seeded_model
from onnx_helpers import EXPORT_BACKENDS, LOGIT_TOLERANCE, Graphs, max_diff

from masklet.backend.heads import choose_mask, pointer_positions, propose_masks
from masklet.predict.resize import video_frame_input

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["sam2.1-hiera-tiny", "sam2.1-hiera-base-plus"])
def official(request, tmp_path_factory):
    from masklet.export import export_onnx

    name = request.param
    model = request.getfixturevalue("tiny_model") if name == "sam2.1-hiera-tiny" else seeded_model(name)
    folder = tmp_path_factory.mktemp("onnx") / name
    export_onnx(model, folder, verify=False)  # the checks below run on real inputs instead
    return model.eval(), folder


@pytest.mark.parametrize("backend", EXPORT_BACKENDS)
def test_official_graphs(official, truck_image, backend):
    model, folder = official
    graphs = Graphs(folder, backend)
    size = model.image_size
    image = torch.from_numpy(video_frame_input(truck_image, size))[None]  # [1, 3, 1024, 1024]
    height, width = truck_image.shape[:2]
    scale = torch.tensor([size / width, size / height])

    features = graphs("image_encoder", images=image)
    with torch.no_grad():
        out = model.forward_image(image)
    fpn, pos = out["backbone_fpn"], out["vision_pos_enc"]
    for name, expected in zip(("high_res_feats_0", "high_res_feats_1", "vision_feats"), fpn):
        assert max_diff(features[name], expected) <= LOGIT_TOLERANCE, name
    assert max_diff(features["vision_pos"], pos[-1]) <= LOGIT_TOLERANCE

    # Two objects: the truck clicked once; a tyre boxed with a positive and a negative click.
    coords = torch.stack([
        torch.tensor([[500.0, 375.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]),
        torch.tensor([[1375.0, 550.0], [1650.0, 800.0], [1500.0, 700.0], [1300.0, 500.0]]),
    ]) * scale  # [2, 4, 2] model pixels
    labels = torch.tensor([[1, -1, -1, -1], [2, 3, 1, 0]])
    pix_feat = (fpn[2] + model.no_mem_embed.view(1, -1, 1, 1)).expand(2, -1, -1, -1).contiguous()
    decoded = graphs(
        "prompt_decoder", image_embed=pix_feat, high_res_feats_0=fpn[0], high_res_feats_1=fpn[1], point_coords=coords,
        point_labels=labels, mask_input=torch.zeros(2, 1, size // 4, size // 4), has_mask_input=torch.tensor([0.0]),
    )
    with torch.no_grad():
        proposals = propose_masks(model, pix_feat, list(fpn[:2]), coords, labels.int(), None, multimask_output=True)
        chosen = choose_mask(model, proposals)
    assert max_diff(decoded["multi_masks"], proposals.masks) <= LOGIT_TOLERANCE
    assert max_diff(decoded["multi_ious"], proposals.ious) <= LOGIT_TOLERANCE
    assert max_diff(decoded["multi_pointers"], proposals.pointers) <= LOGIT_TOLERANCE

    memory = graphs(
        "memory_encoder", vision_feats=fpn[2], masks=chosen.high_res_masks, object_score_logits=decoded["object_score_logits"],
        binarize=np.array([False]),
    )["memory"]
    with torch.no_grad():
        expected_memory = model.encode_memory(fpn[2], chosen.high_res_masks, proposals.object_score_logits, binarize=False)
    assert max_diff(memory, expected_memory) <= LOGIT_TOLERANCE

    # The truck's bank: its memory in two temporal slots, its pointer at distances 1 and 2.
    with torch.no_grad():
        mem_pos = model.memory_position_encoding(*expected_memory.shape[-2:])[0].flatten(1).t()  # [hw, mem]
        tokens = expected_memory[0].flatten(1).t()
        bank = torch.cat([tokens, tokens])[None]
        bank_pos = torch.cat([mem_pos + model.maskmem_tpos_enc[i].view(1, -1) for i in (0, 5)])[None]
        split = model.hidden_dim // model.mem_dim
        ptrs = chosen.obj_ptr[:1].repeat(2, 1).reshape(1, -1, model.mem_dim)  # [1, 2 * split, mem]
        ptr_pos = pointer_positions(model, torch.tensor([1, 2]), 16).repeat_interleave(split, dim=0)[None]
        curr = fpn[2].flatten(2).transpose(1, 2)
        curr_pos = pos[-1].flatten(2).transpose(1, 2)
        expected = model.memory_attention(
            curr=curr, memory=torch.cat([bank, ptrs], 1), curr_pos=curr_pos,
            memory_pos=torch.cat([bank_pos, ptr_pos], 1), num_obj_ptr_tokens=ptrs.shape[1],
        )
    got_ptr_pos = graphs("pointer_position", positions=torch.tensor([1.0, 2.0]) / 15)["pointer_pos"]
    assert max_diff(got_ptr_pos.repeat_interleave(split, dim=0)[None], ptr_pos) <= LOGIT_TOLERANCE
    conditioned = graphs(
        "memory_attention", curr=curr, curr_pos=curr_pos, memory=bank, memory_pos=bank_pos, obj_ptrs=ptrs, obj_ptrs_pos=ptr_pos
    )["conditioned"]
    assert max_diff(conditioned, expected) <= LOGIT_TOLERANCE
