"""Each exported graph of masklet-nano, run by each backend of export folders (ONNX Runtime,
OpenVINO in float32), against the torch model on real DAVIS frames, at two sizes of every
dynamic axis (objects, points, memory frames, pointers)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import davis_frame
from onnx_helpers import EXPORT_BACKENDS, LOGIT_TOLERANCE, max_diff, nano_graphs, nano_model

from masklet.backend.heads import choose_mask, pointer_positions, propose_masks
from masklet.backend.outputs import MaskProposals
from masklet.predict.resize import video_frame_input

SEQ = "blackswan"


@pytest.fixture(scope="module")
def scene():
    """Three real frames, their ground-truth masks at model size, and torch features."""
    model = nano_model()
    size = model.image_size
    frames, masks = zip(*(davis_frame(SEQ, i) for i in (0, 5, 10)))
    images = torch.stack([torch.from_numpy(video_frame_input(f, size)) for f in frames])  # [3, 3, S, S]
    gt = torch.stack([torch.from_numpy(m) for m in masks]).float()[:, None]  # [3, 1, H, W]
    gt = (F.interpolate(gt, (size, size), mode="bilinear") > 0.5).float()  # [3, 1, S, S]
    with torch.no_grad():
        out = model.forward_image(images)
    return {"images": images, "gt": gt, "fpn": out["backbone_fpn"], "pos": out["vision_pos_enc"]}


def click_from_mask(mask: torch.Tensor) -> torch.Tensor:
    """(x, y) of the mask pixel nearest its centroid, model pixels [2]."""
    ys, xs = torch.nonzero(mask[0], as_tuple=True)
    i = int(((ys - ys.float().mean()) ** 2 + (xs - xs.float().mean()) ** 2).argmin())
    return torch.tensor([float(xs[i]), float(ys[i])])


def box_from_mask(mask: torch.Tensor) -> torch.Tensor:
    ys, xs = torch.nonzero(mask[0], as_tuple=True)
    return torch.tensor([float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())])


@pytest.mark.parametrize("backend", EXPORT_BACKENDS)
@pytest.mark.parametrize("batch", [1, 3])
def test_image_encoder(backend, scene, batch):
    out = nano_graphs(backend)("image_encoder", images=scene["images"][:batch])
    fpn, pos = scene["fpn"], scene["pos"]
    assert max_diff(out["high_res_feats_0"], fpn[0][:batch]) <= LOGIT_TOLERANCE
    assert max_diff(out["high_res_feats_1"], fpn[1][:batch]) <= LOGIT_TOLERANCE
    assert max_diff(out["vision_feats"], fpn[2][:batch]) <= LOGIT_TOLERANCE
    assert max_diff(out["vision_pos"], pos[2][:batch]) <= LOGIT_TOLERANCE


def prompts(scene, objects: int, kind: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Clicks from the real masks: one positive click per object ("click"), or a box, a
    positive and a negative click ("box+clicks"). -> coords [B, N, 2], labels [B, N]."""
    coords, labels = [], []
    for i in range(objects):
        mask = scene["gt"][i % 3]
        click = click_from_mask(mask)
        if kind == "click":
            coords.append(click[None])
            labels.append([1])
        else:
            box = box_from_mask(mask)
            coords.append(torch.stack([box[:2], box[2:], click, torch.tensor([2.0, 2.0])]))
            labels.append([2, 3, 1, 0])
    return torch.stack(coords), torch.tensor(labels, dtype=torch.int64)


@pytest.mark.parametrize("backend", EXPORT_BACKENDS)
@pytest.mark.parametrize("objects,kind,with_mask", [(1, "click", False), (3, "box+clicks", True)])
def test_prompt_decoder(backend, scene, objects, kind, with_mask):
    """Against the torch decoder (heads.propose_masks) in both output modes, every mask's
    pointer and the chosen one; the image features are shared by all objects (image_batch 1)."""
    model = nano_model()
    fpn = scene["fpn"]
    pix_feat = (fpn[2][:1] + model.no_mem_embed.view(1, -1, 1, 1)).expand(objects, -1, -1, -1)
    coords, labels = prompts(scene, objects, kind)
    low = model.sam_prompt_encoder.mask_input_size
    mask_input = (F.interpolate(scene["gt"], low, mode="bilinear") * 20 - 10).repeat(2, 1, 1, 1)[:objects]
    out = nano_graphs(backend)(
        "prompt_decoder", image_embed=pix_feat.contiguous(), high_res_feats_0=fpn[0][:1], high_res_feats_1=fpn[1][:1],
        point_coords=coords, point_labels=labels, mask_input=mask_input,
        has_mask_input=torch.tensor([1.0 if with_mask else 0.0]),
    )
    for mode, multimask in (("multi", True), ("single", False)):
        with torch.no_grad():
            proposals = propose_masks(
                model, pix_feat, [f[:1] for f in fpn[:2]], coords, labels.int(), mask_input if with_mask else None,
                multimask,
            )
            chosen = choose_mask(model, proposals)
            graph_proposals = MaskProposals(*(out[f"{mode}_{k}"] for k in ("masks", "ious", "pointers")),
                                            out["object_score_logits"])
            graph_chosen = choose_mask(model, graph_proposals)
        assert max_diff(out[f"{mode}_masks"], proposals.masks) <= LOGIT_TOLERANCE
        assert max_diff(out[f"{mode}_ious"], proposals.ious) <= LOGIT_TOLERANCE
        assert max_diff(out[f"{mode}_pointers"], proposals.pointers) <= LOGIT_TOLERANCE
        assert max_diff(graph_chosen.obj_ptr, chosen.obj_ptr) <= LOGIT_TOLERANCE
    assert max_diff(out["object_score_logits"], proposals.object_score_logits) <= LOGIT_TOLERANCE
    assert out["multi_masks"].abs().max() > 1  # real logits, not a blank answer


@pytest.mark.parametrize("backend", EXPORT_BACKENDS)
@pytest.mark.parametrize("objects,with_mask", [(1, True), (3, True), (1, False)])
def test_mask_decoder(backend, scene, objects, with_mask):
    """The decoder without point tokens (a mask-only image prompt) against the torch decoder
    (without a mask either, the prompt is the learned no-mask embedding of one image)."""
    model = nano_model()
    fpn = scene["fpn"]
    pix_feat = (fpn[2][:1] + model.no_mem_embed.view(1, -1, 1, 1)).expand(objects, -1, -1, -1)
    low = model.sam_prompt_encoder.mask_input_size
    mask_input = (F.interpolate(scene["gt"], low, mode="bilinear") * 20 - 10)[:objects]
    out = nano_graphs(backend)(
        "mask_decoder", image_embed=pix_feat.contiguous(), high_res_feats_0=fpn[0][:1], high_res_feats_1=fpn[1][:1],
        mask_input=mask_input, has_mask_input=torch.tensor([1.0 if with_mask else 0.0]),
    )
    for mode, multimask in (("multi", True), ("single", False)):
        with torch.no_grad():
            proposals = model.decode_prompts(
                pix_feat, [f[:1] for f in fpn[:2]], None, None, mask_input if with_mask else None, multimask
            )
        assert max_diff(out[f"{mode}_masks"], proposals.masks) <= LOGIT_TOLERANCE
        assert max_diff(out[f"{mode}_ious"], proposals.ious) <= LOGIT_TOLERANCE
        assert max_diff(out[f"{mode}_pointers"], proposals.pointers) <= LOGIT_TOLERANCE
    assert out["multi_masks"].abs().max() > 1


@pytest.mark.parametrize("backend", EXPORT_BACKENDS)
@pytest.mark.parametrize("objects", [1, 3])
def test_mask_prompt(backend, scene, objects):
    out = nano_graphs(backend)("mask_prompt", masks=scene["gt"][:objects])
    with torch.no_grad():
        expected = nano_model().mask_downsample(scene["gt"][:objects])
    assert max_diff(out["mask_input"], expected) <= LOGIT_TOLERANCE


@pytest.mark.parametrize("backend", EXPORT_BACKENDS)
@pytest.mark.parametrize("objects,binarize", [(1, True), (3, False)])
def test_memory_encoder(backend, scene, objects, binarize):
    """Masks as high-res logits of the real objects; vision features shared (image_batch 1)."""
    model = nano_model()
    logits = scene["gt"][:objects] * 20 - 10 + torch.linspace(-3, 3, model.image_size)  # [B, 1, S, S]
    scores = torch.tensor([[2.0], [-1.0], [0.5]])[:objects]  # one object judged absent
    vision = scene["fpn"][2][:1]
    out = nano_graphs(backend)(
        "memory_encoder", vision_feats=vision, masks=logits, object_score_logits=scores,
        binarize=np.array([binarize]),
    )
    with torch.no_grad():
        expected = model.encode_memory(vision, logits, scores, binarize)
    assert max_diff(out["memory"], expected) <= LOGIT_TOLERANCE


def memory_bank(scene, frames: int, pointers: int):
    """A memory bank like TrackingEngine builds: `frames` real memories (the GT masks of the
    three frames) with slot codes, and `pointers` real object pointers -> graph inputs."""
    model, cfg = nano_model(), nano_model().config
    fpn = scene["fpn"]
    with torch.no_grad():
        memories = model.encode_memory(fpn[2], scene["gt"] * 20 - 10, torch.ones(3, 1), binarize=True)  # [3, mem, h, w]
        pos = model.memory_position_encoding(*memories.shape[-2:])[0].flatten(1).t()  # [hw, mem]
        tokens = [memories[i % 3].flatten(1).t() for i in range(frames)]
        token_pos = [pos + model.maskmem_tpos_enc[cfg.num_maskmem - 1 - i].view(1, -1) for i in range(frames)]
        pix = fpn[2] + model.no_mem_embed.view(1, -1, 1, 1)
        clicks = torch.stack([click_from_mask(m) for m in scene["gt"]])[:, None]
        ptrs = choose_mask(model, propose_masks(model, pix, list(fpn[:2]), clicks, torch.ones(3, 1, dtype=torch.int32))).obj_ptr
        ptrs = ptrs.repeat(pointers, 1)[:pointers]  # [P, C]
        offsets = torch.arange(1, pointers + 1)
        ptr_pos = pointer_positions(model, offsets, cfg.max_obj_ptrs_in_encoder)  # [P, mem]
    split = model.hidden_dim // model.mem_dim
    return (
        torch.cat(tokens)[None], torch.cat(token_pos)[None],
        ptrs.reshape(-1, model.mem_dim)[None], ptr_pos.repeat_interleave(split, dim=0)[None],
    )


@pytest.mark.parametrize("backend", EXPORT_BACKENDS)
@pytest.mark.parametrize("frames,pointers", [(1, 0), (3, 5)])
def test_memory_attention(backend, scene, frames, pointers):
    model = nano_model()
    memory, memory_pos, ptrs, ptr_pos = memory_bank(scene, frames, pointers)
    curr = scene["fpn"][2][2:3].flatten(2).transpose(1, 2)  # frame 10 [1, hw, C]
    curr_pos = scene["pos"][2][2:3].flatten(2).transpose(1, 2)
    out = nano_graphs(backend)(
        "memory_attention", curr=curr, curr_pos=curr_pos, memory=memory, memory_pos=memory_pos,
        obj_ptrs=ptrs, obj_ptrs_pos=ptr_pos,
    )
    with torch.no_grad():
        expected = model.memory_attention(
            curr=curr, memory=torch.cat([memory, ptrs], 1), curr_pos=curr_pos,
            memory_pos=torch.cat([memory_pos, ptr_pos], 1), num_obj_ptr_tokens=ptrs.shape[1],
        )
    assert max_diff(out["conditioned"], expected) <= LOGIT_TOLERANCE


@pytest.mark.parametrize("backend", EXPORT_BACKENDS)
@pytest.mark.parametrize("pointers", [2, 9])
def test_pointer_position(backend, pointers):
    model = nano_model()
    window = model.config.max_obj_ptrs_in_encoder
    distances = torch.arange(-pointers // 2, pointers - pointers // 2)
    out = nano_graphs(backend)("pointer_position", positions=(distances.float() / (window - 1)))
    with torch.no_grad():
        expected = pointer_positions(model, distances, window)
    assert max_diff(out["pointer_pos"], expected) <= LOGIT_TOLERANCE


def test_rope_is_real_valued_and_equals_complex_rotation():
    """The rotation RoPE applies (real cos / sin arithmetic) equals multiplying each channel
    pair, read as a complex number, by exp(i * angle); the exported memory attention holds
    no complex tensors."""
    import onnx
    from onnx_helpers import nano_export

    from masklet.model.rope import axial_rope_angles, rotate

    angles = axial_rope_angles(64, 16, 16)  # [256, 32]
    x = torch.randn(2, 1, 256, 64, generator=torch.Generator().manual_seed(0))
    expected = torch.view_as_real(torch.view_as_complex(x.unflatten(-1, (-1, 2))) * torch.polar(torch.ones_like(angles), angles))
    assert max_diff(rotate(x, angles.cos(), angles.sin()), expected.flatten(-2)) <= 1e-5

    graph = onnx.load(str(nano_export() / "memory_attention.onnx")).graph
    complex_types = {onnx.TensorProto.COMPLEX64, onnx.TensorProto.COMPLEX128}
    typed = [*graph.input, *graph.output, *graph.value_info]
    assert not [v.name for v in typed if v.type.tensor_type.elem_type in complex_types]
    assert not [t.name for t in graph.initializer if t.data_type in complex_types]
