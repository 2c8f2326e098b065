"""SAM heads: prompt encoder, two-way transformer and mask decoder (no reference needed)."""

from __future__ import annotations

import pytest
import torch

from masklet.backend.heads import stability_score
from masklet.model.mask_decoder import MaskDecoder
from masklet.model.prompt_encoder import PromptEncoder

DIM = 256


def build_heads(image_size: int = 1024) -> tuple[PromptEncoder, MaskDecoder]:
    """The heads as SAM2Model builds them (official SAM 2 / 2.1 settings)."""
    grid = image_size // 16
    encoder = PromptEncoder(embed_dim=DIM, image_embedding_size=(grid, grid), input_image_size=(image_size, image_size))
    decoder = MaskDecoder(
        transformer_dim=DIM, transformer_mlp_dim=2048, dynamic_multimask_via_stability=True,
        dynamic_multimask_stability_delta=0.05, dynamic_multimask_stability_thresh=0.98,
    )
    return encoder.eval(), decoder.eval()


@pytest.fixture(scope="module")
def heads():
    torch.manual_seed(0)
    return build_heads(image_size=256)  # 16 x 16 embedding grid keeps the tests fast


def image_inputs(batch: int = 1, grid: int = 16):
    return (
        torch.randn(batch, DIM, grid, grid),
        [torch.randn(batch, DIM // 8, 4 * grid, 4 * grid), torch.randn(batch, DIM // 4, 2 * grid, 2 * grid)],
    )


def decode(heads, points=None, boxes=None, masks=None, multimask=True, image=None):
    encoder, decoder = heads
    sparse, dense = encoder(points, boxes, masks)
    embed, high_res = image if image is not None else image_inputs()
    with torch.no_grad():
        return decoder(embed, encoder.get_dense_pe(), sparse, dense, multimask, sparse.shape[0] > 1, high_res)


# ----------------------------------------------------------------------------- layout


def test_official_parameter_names_and_shapes():
    encoder, decoder = build_heads()
    state = {f"sam_prompt_encoder.{k}": v for k, v in encoder.state_dict().items()}
    state.update({f"sam_mask_decoder.{k}": v for k, v in decoder.state_dict().items()})
    expected = {
        "sam_prompt_encoder.point_embeddings.0.weight": (1, 256),
        "sam_prompt_encoder.point_embeddings.3.weight": (1, 256),
        "sam_prompt_encoder.not_a_point_embed.weight": (1, 256),
        "sam_prompt_encoder.no_mask_embed.weight": (1, 256),
        "sam_prompt_encoder.mask_downscaling.0.weight": (4, 1, 2, 2),
        "sam_prompt_encoder.mask_downscaling.1.weight": (4,),
        "sam_prompt_encoder.mask_downscaling.4.bias": (16,),
        "sam_prompt_encoder.mask_downscaling.6.weight": (256, 16, 1, 1),
        "sam_prompt_encoder.pe_layer.positional_encoding_gaussian_matrix": (2, 128),
        "sam_mask_decoder.obj_score_token.weight": (1, 256),
        "sam_mask_decoder.iou_token.weight": (1, 256),
        "sam_mask_decoder.mask_tokens.weight": (4, 256),
        "sam_mask_decoder.transformer.layers.0.self_attn.q_proj.weight": (256, 256),
        "sam_mask_decoder.transformer.layers.0.cross_attn_token_to_image.q_proj.weight": (128, 256),
        "sam_mask_decoder.transformer.layers.1.cross_attn_image_to_token.out_proj.weight": (256, 128),
        "sam_mask_decoder.transformer.layers.1.mlp.layers.0.weight": (2048, 256),
        "sam_mask_decoder.transformer.layers.1.mlp.layers.1.weight": (256, 2048),
        "sam_mask_decoder.transformer.layers.1.norm4.weight": (256,),
        "sam_mask_decoder.transformer.final_attn_token_to_image.v_proj.weight": (128, 256),
        "sam_mask_decoder.transformer.norm_final_attn.bias": (256,),
        "sam_mask_decoder.output_upscaling.0.weight": (256, 64, 2, 2),
        "sam_mask_decoder.output_upscaling.1.weight": (64,),
        "sam_mask_decoder.output_upscaling.3.weight": (64, 32, 2, 2),
        "sam_mask_decoder.conv_s0.weight": (32, 256, 1, 1),
        "sam_mask_decoder.conv_s1.weight": (64, 256, 1, 1),
        "sam_mask_decoder.output_hypernetworks_mlps.3.layers.2.weight": (32, 256),
        "sam_mask_decoder.iou_prediction_head.layers.2.weight": (4, 256),
        "sam_mask_decoder.pred_obj_score_head.layers.2.weight": (1, 256),
    }
    for name, shape in expected.items():
        assert name in state, name
        assert tuple(state[name].shape) == shape, name
    assert not any(k.startswith("sam_mask_decoder.transformer.layers.0.mlp.layers.2") for k in state)


def test_parameter_counts_equal_the_reference():
    # Counted once on sam2==1.1.0's PromptEncoder / MaskDecoder built as in
    # SAM2Base._build_sam_heads for image_size 1024 (parameters only, no buffers).
    encoder, decoder = build_heads()
    assert sum(p.numel() for p in encoder.parameters()) == 6220
    assert sum(p.numel() for p in decoder.parameters()) == 4215109


# ----------------------------------------------------------------------------- prompt encoder


def test_points_without_a_box_get_one_padding_token(heads):
    encoder, _ = heads
    coords, labels = torch.tensor([[[10.0, 20.0], [100.0, 50.0]]]), torch.tensor([[1, 0]])
    sparse, _ = encoder((coords, labels), None, None)
    assert sparse.shape == (1, 3, DIM)
    torch.testing.assert_close(sparse[0, 2], encoder.not_a_point_embed.weight[0])
    with_box, _ = encoder((coords, labels), torch.tensor([[0.0, 0.0, 50.0, 60.0]]), None)
    assert with_box.shape == (1, 4, DIM)  # 2 points + 2 corners, no padding


def test_padding_labels_ignore_their_coordinates(heads):
    encoder, _ = heads
    labels = torch.tensor([[1, -1]])
    a, _ = encoder((torch.tensor([[[5.0, 5.0], [0.0, 0.0]]]), labels), None, None)
    b, _ = encoder((torch.tensor([[[5.0, 5.0], [200.0, 90.0]]]), labels), None, None)
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a[0, 1], encoder.not_a_point_embed.weight[0])


def test_point_token_is_dense_pe_plus_label_embedding(heads):
    encoder, _ = heads
    dense_pe = encoder.get_dense_pe()  # [1, C, 16, 16] at stride 16
    assert dense_pe.shape == (1, DIM, 16, 16)
    row, col = 3, 11
    centre = torch.tensor([[[16.0 * col + 7.5, 16.0 * row + 7.5]]])  # +0.5 lands on the cell centre
    for label in range(4):
        sparse, _ = encoder((centre, torch.tensor([[label]])), None, None)
        expected = dense_pe[0, :, row, col] + encoder.point_embeddings[label].weight[0]
        torch.testing.assert_close(sparse[0, 0], expected, atol=1e-5, rtol=0)


def test_box_equals_its_corners_as_labelled_points(heads):
    encoder, _ = heads
    box = torch.tensor([[30.0, 40.0, 200.0, 180.0]])
    from_box, _ = encoder(None, box, None)
    corners = (box.reshape(1, 2, 2), torch.tensor([[2, 3]]))
    from_points, _ = encoder(corners, None, None)
    assert from_box.shape == (1, 2, DIM)
    torch.testing.assert_close(from_box, from_points[:, :2])


def test_dense_embedding_from_mask_or_no_mask_embed(heads):
    encoder, _ = heads
    assert encoder.mask_input_size == (64, 64)
    points = (torch.rand(2, 1, 2) * 256, torch.ones(2, 1, dtype=torch.int64))
    _, no_mask = encoder(points, None, None)
    assert no_mask.shape == (2, DIM, 16, 16)
    torch.testing.assert_close(no_mask, encoder.no_mask_embed.weight.reshape(1, DIM, 1, 1).expand(2, -1, 16, 16))
    masks = torch.randn(2, 1, 64, 64)
    sparse, dense = encoder(None, None, masks)
    assert sparse.shape == (2, 0, DIM)
    torch.testing.assert_close(dense, encoder.mask_downscaling(masks))
    assert not torch.allclose(dense[0], dense[1])


def test_prompt_encoder_rejects_wrong_mask_size(heads):
    # Label values are checked by the predictors (a check here would sync the GPU per call).
    encoder, _ = heads
    with pytest.raises(ValueError, match="mask input"):
        encoder(None, None, torch.zeros(1, 1, 32, 32))


# ----------------------------------------------------------------------------- decoder shapes


@pytest.mark.parametrize("multimask, count", [(True, 3), (False, 1)])
def test_output_shapes(heads, multimask, count):
    points = (torch.rand(1, 2, 2) * 256, torch.tensor([[1, 0]]))
    masks, iou, tokens, score = decode(heads, points=points, multimask=multimask)
    assert masks.shape == (1, count, 64, 64)
    assert iou.shape == (1, count) and ((iou > 0) & (iou < 1)).all()  # sigmoid IoU head
    assert tokens.shape == (1, count, DIM)  # multimask token for the pointer only with multimask
    assert score.shape == (1, 1)


def test_batched_prompts_equal_one_by_one(heads):
    boxes = torch.tensor([[10.0, 10.0, 100.0, 120.0], [50.0, 60.0, 250.0, 200.0], [0.0, 0.0, 255.0, 255.0]])
    image = image_inputs()
    together = decode(heads, boxes=boxes, image=image)
    assert together[0].shape == (3, 3, 64, 64)
    for i in range(3):
        alone = decode(heads, boxes=boxes[i : i + 1], image=image)
        for a, b in zip(alone, together):
            torch.testing.assert_close(a, b[i : i + 1], atol=1e-4, rtol=1e-4)


def test_repeat_image_equals_a_repeated_batch(heads):
    encoder, decoder = heads
    embed, high_res = image_inputs()
    sparse, dense = encoder((torch.rand(2, 1, 2) * 256, torch.ones(2, 1)), None, None)
    pe = encoder.get_dense_pe()
    with torch.no_grad():
        shared = decoder(embed, pe, sparse, dense, True, True, high_res)
        repeated = decoder(
            embed.expand(2, -1, -1, -1), pe, sparse, dense, True, False, [f.expand(2, -1, -1, -1) for f in high_res]
        )
    for a, b in zip(shared, repeated):
        torch.testing.assert_close(a, b)


def test_decoder_rejects_mismatched_batches(heads):
    encoder, decoder = heads
    embed, high_res = image_inputs(batch=2)
    sparse, dense = encoder(None, torch.tensor([[0.0, 0.0, 9.0, 9.0]] * 3), None)
    pe = encoder.get_dense_pe()
    with pytest.raises(ValueError, match="repeat_image=True"):
        decoder(embed, pe, sparse, dense, True, False, high_res)
    with pytest.raises(ValueError, match="one image"):
        decoder(embed, pe, sparse, dense, True, True, high_res)
    with pytest.raises(ValueError, match="high_res_features"):
        decoder(embed[:1], pe, sparse, dense, True, True, None)


def test_both_high_res_levels_reach_the_masks(heads):
    embed, (feat_s0, feat_s1) = image_inputs()
    box = torch.tensor([[10.0, 10.0, 100.0, 120.0]])
    base = decode(heads, boxes=box, image=(embed, [feat_s0, feat_s1]))
    for changed in ([torch.randn_like(feat_s0), feat_s1], [feat_s0, torch.randn_like(feat_s1)]):
        masks, iou, tokens, _ = decode(heads, boxes=box, image=(embed, changed))
        assert not torch.allclose(masks, base[0], atol=1e-3)
        torch.testing.assert_close(iou, base[1])  # the heads see tokens only, not the upscaled map
        torch.testing.assert_close(tokens, base[2])


# ----------------------------------------------------------------------------- mask selection


def test_stability_score_by_hand():
    logits = torch.tensor([[[1.0, 0.06, 0.02, -0.02], [-0.06, -1.0, -1.0, -1.0]]])  # [1, 2, 4]
    # > +0.05: 2 pixels; > -0.05: 4 pixels.
    torch.testing.assert_close(stability_score(logits, 0.0, 0.05), torch.tensor([0.5]))
    torch.testing.assert_close(stability_score(logits, 0.5, 0.05), torch.tensor([1.0]))
    torch.testing.assert_close(stability_score(torch.full((2, 3, 3), -5.0), 0.0, 0.05), torch.ones(2))


def planted_outputs(decoder: MaskDecoder, monkeypatch, stable: list[bool]):
    """Make predict_masks return hand-built logits: mask 0 stable or not per sample, the
    multimask outputs 1..3 filled with their own index, mask 2 with the highest IoU."""
    batch = len(stable)
    masks = torch.arange(4.0).reshape(1, 4, 1, 1).repeat(batch, 1, 8, 8)
    for b, is_stable in enumerate(stable):
        masks[b, 0] = -4.0
        masks[b, 0, :4] = 4.0 if is_stable else 0.01  # 0.01 lies inside the +-0.05 band
    iou = torch.tensor([[0.9, 0.2, 0.7, 0.4]]).repeat(batch, 1)
    tokens = torch.arange(4.0).reshape(1, 4, 1).repeat(batch, 1, DIM)
    score = torch.zeros(batch, 1)
    monkeypatch.setattr(decoder, "predict_masks", lambda *args, **kwargs: (masks, iou, tokens, score))
    return masks


def run_planted(decoder, multimask):
    """Forward with the planted outputs; the image and prompt inputs go unused."""
    return decoder(None, None, None, None, multimask, False, None)


def test_unstable_single_mask_falls_back_to_best_multimask(heads, monkeypatch):
    _, decoder = heads
    masks = planted_outputs(decoder, monkeypatch, stable=[True, False])
    out, iou, tokens, _ = run_planted(decoder, multimask=False)
    assert out.shape == (2, 1, 8, 8)
    torch.testing.assert_close(out[0, 0], masks[0, 0])  # stable: the single-mask output
    torch.testing.assert_close(out[1, 0], masks[1, 2])  # unstable: multimask output 2 (IoU 0.7)
    torch.testing.assert_close(iou, torch.tensor([[0.9], [0.7]]))
    assert (tokens == 0).all()  # the pointer token is the single-mask token either way


def test_stability_exactly_at_the_threshold_counts_as_stable(heads, monkeypatch):
    _, decoder = heads
    masks = planted_outputs(decoder, monkeypatch, stable=[True])
    masks[0, 0, 4, 0] = 0.0  # 32 pixels above +0.05, 33 above -0.05
    monkeypatch.setattr(decoder, "dynamic_multimask_stability_thresh", 32 / 33)
    out, _, _, _ = run_planted(decoder, multimask=False)
    torch.testing.assert_close(out, masks[:, :1])
    monkeypatch.setattr(decoder, "dynamic_multimask_stability_thresh", 32 / 33 + 1e-6)
    out, _, _, _ = run_planted(decoder, multimask=False)
    torch.testing.assert_close(out, masks[:, 2:3])


def test_empty_single_mask_counts_as_stable(heads, monkeypatch):
    _, decoder = heads
    masks = planted_outputs(decoder, monkeypatch, stable=[True])
    masks[0, 0] = -4.0  # nothing above -0.05: stability 1, as the reference's decoder scores it
    out, iou, _, _ = run_planted(decoder, multimask=False)
    torch.testing.assert_close(out[0, 0], masks[0, 0])
    torch.testing.assert_close(iou, torch.tensor([[0.9]]))


def test_fallback_is_off_in_training_and_when_disabled(heads, monkeypatch):
    _, decoder = heads
    masks = planted_outputs(decoder, monkeypatch, stable=[False])
    decoder.train()
    try:
        out, iou, _, _ = run_planted(decoder, multimask=False)
    finally:
        decoder.eval()
    torch.testing.assert_close(out, masks[:, :1])
    monkeypatch.setattr(decoder, "dynamic_multimask_via_stability", False)
    out, iou, _, _ = run_planted(decoder, multimask=False)
    torch.testing.assert_close(out, masks[:, :1])
    torch.testing.assert_close(iou, torch.tensor([[0.9]]))


def test_multimask_output_and_pointer_tokens(heads, monkeypatch):
    _, decoder = heads
    masks = planted_outputs(decoder, monkeypatch, stable=[False])
    out, iou, tokens, _ = run_planted(decoder, multimask=True)
    torch.testing.assert_close(out, masks[:, 1:])
    torch.testing.assert_close(iou, torch.tensor([[0.2, 0.7, 0.4]]))
    assert tokens.shape == (1, 3, DIM) and torch.equal(tokens[0, :, 0], torch.tensor([1.0, 2.0, 3.0]))
