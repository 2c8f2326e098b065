"""SAM mask decoder: output tokens + prompt tokens attend to the image through the two-way
transformer; hypernetwork MLPs turn mask tokens into per-pixel mask logits on an upscaled map
that also receives the high-resolution FPN features."""

from __future__ import annotations

import torch
from torch import nn

from masklet.backend.heads import stability_score
from masklet.model.common import MLP, LayerNorm2d
from masklet.model.transformer import TwoWayTransformer

NUM_MULTIMASK_OUTPUTS = 3
NUM_MASK_TOKENS = NUM_MULTIMASK_OUTPUTS + 1  # the single-mask token first
IOU_HEAD_DEPTH = 3
IOU_HEAD_HIDDEN_DIM = 256


class MaskDecoder(nn.Module):
    """Token layout: [obj_score, iou, mask_0 (single), mask_1..3 (multimask), prompts...].

    The predicted IoUs pass through a sigmoid; the object pointer is made from the multimask
    tokens when multimask output is asked for, else from the single-mask token. In eval mode
    with `dynamic_multimask_via_stability`, an unstable single mask is replaced by the best
    multimask output (see `fall_back_to_stable_multimask`)."""

    def __init__(
        self,
        *,
        transformer_dim: int,
        transformer_mlp_dim: int,
        dynamic_multimask_via_stability: bool,
        dynamic_multimask_stability_delta: float,
        dynamic_multimask_stability_thresh: float,
    ) -> None:
        super().__init__()
        dim = transformer_dim
        self.transformer = TwoWayTransformer(embedding_dim=dim, mlp_dim=transformer_mlp_dim)
        self.iou_token = nn.Embedding(1, dim)
        self.mask_tokens = nn.Embedding(NUM_MASK_TOKENS, dim)
        self.obj_score_token = nn.Embedding(1, dim)

        # [B, C, h, w] -> [B, C/8, 4h, 4w]
        self.output_upscaling = nn.Sequential(
            nn.ConvTranspose2d(dim, dim // 4, kernel_size=2, stride=2),
            LayerNorm2d(num_channels=dim // 4),
            nn.GELU(),
            nn.ConvTranspose2d(dim // 4, dim // 8, kernel_size=2, stride=2),
            nn.GELU(),
        )
        # Applied by SAM2Model.forward_image to the stride-4 and stride-8 FPN levels.
        self.conv_s0 = nn.Conv2d(dim, dim // 8, kernel_size=1)
        self.conv_s1 = nn.Conv2d(dim, dim // 4, kernel_size=1)
        self.output_hypernetworks_mlps = nn.ModuleList(
            MLP(input_dim=dim, hidden_dim=dim, output_dim=dim // 8, num_layers=3) for _ in range(NUM_MASK_TOKENS)
        )
        self.iou_prediction_head = MLP(
            input_dim=dim, hidden_dim=IOU_HEAD_HIDDEN_DIM, output_dim=NUM_MASK_TOKENS, num_layers=IOU_HEAD_DEPTH,
            sigmoid_output=True,
        )
        self.pred_obj_score_head = MLP(input_dim=dim, hidden_dim=dim, output_dim=1, num_layers=3)
        self.dynamic_multimask_via_stability = dynamic_multimask_via_stability
        self.dynamic_multimask_stability_delta = dynamic_multimask_stability_delta
        self.dynamic_multimask_stability_thresh = dynamic_multimask_stability_thresh

    def forward(
        self,
        image_embeddings: torch.Tensor,
        image_pe: torch.Tensor,
        sparse_prompt_embeddings: torch.Tensor,
        dense_prompt_embeddings: torch.Tensor,
        multimask_output: bool,
        repeat_image: bool,
        high_res_features: list[torch.Tensor],
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """
        image_embeddings [B or 1, C, h, w], image_pe [1, C, h, w], sparse [B, N, C],
        dense [B, C, h, w]; with repeat_image the single image serves all B prompt sets.
        high_res_features: the stride-4 and stride-8 features after conv_s0 / conv_s1,
        [B or 1, C/8, 4h, 4w] and [B or 1, C/4, 2h, 2w].
        Returns masks [B, M, 4h, 4w], iou [B, M], tokens for the object pointer [B, M, C]
        and object-score logits [B, 1]; M = 3 with multimask_output, else 1.
        """
        masks, iou, mask_tokens_out, object_score_logits = self.predict_masks(
            image_embeddings, image_pe, sparse_prompt_embeddings, dense_prompt_embeddings,
            repeat_image, high_res_features,
        )
        if multimask_output:
            return masks[:, 1:], iou[:, 1:], mask_tokens_out[:, 1:], object_score_logits
        if self.dynamic_multimask_via_stability and not self.training:
            masks, iou = self.fall_back_to_stable_multimask(masks, iou)
        else:
            masks, iou = masks[:, :1], iou[:, :1]
        return masks, iou, mask_tokens_out[:, :1], object_score_logits

    def predict_masks(
        self,
        image_embeddings: torch.Tensor,
        image_pe: torch.Tensor,
        sparse_prompt_embeddings: torch.Tensor,
        dense_prompt_embeddings: torch.Tensor,
        repeat_image: bool,
        high_res_features: list[torch.Tensor],
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """All 4 masks [B, 4, 4h, 4w], 4 IoUs, the 4 mask tokens and object-score logits."""
        batch = sparse_prompt_embeddings.shape[0]
        output_tokens = torch.cat([self.obj_score_token.weight, self.iou_token.weight, self.mask_tokens.weight])
        output_tokens = output_tokens.unsqueeze(0).expand(batch, -1, -1)
        tokens = torch.cat([output_tokens, sparse_prompt_embeddings], dim=1)

        # Broadcasting shares one image among the B prompt sets without copying it first.
        images = image_embeddings.shape[0]
        if repeat_image and images != 1:
            raise ValueError(f"repeat_image shares one image among the prompt sets, got {images} images")
        if not repeat_image and images != batch:
            raise ValueError(
                f"{images} image embeddings for {batch} prompt sets; "
                "pass repeat_image=True to share one image"
            )
        if image_pe.shape[0] != 1:
            raise ValueError(f"image_pe must be [1, C, h, w] (get_dense_pe()), got {tuple(image_pe.shape)}")
        if high_res_features is None or len(high_res_features) != 2:
            raise ValueError(
                "the mask decoder needs high_res_features: the stride-4 and stride-8 features "
                "projected by conv_s0 / conv_s1 (SAM2Model.forward_image gives them)"
            )
        image = image_embeddings + dense_prompt_embeddings  # [B, C, h, w]
        b, c, h, w = image.shape
        pos = image_pe.expand(b, -1, -1, -1)

        hs, image_tokens = self.transformer(image, pos, tokens)
        object_score_token_out, iou_token_out = hs[:, 0], hs[:, 1]
        mask_tokens_out = hs[:, 2 : 2 + NUM_MASK_TOKENS]

        image = image_tokens.transpose(1, 2).reshape(b, c, h, w)
        deconv1, norm1, act1, deconv2, act2 = self.output_upscaling
        feat_s0, feat_s1 = high_res_features
        upscaled = act1(norm1(deconv1(image) + feat_s1))
        upscaled = act2(deconv2(upscaled) + feat_s0)

        hyper = torch.stack(
            [mlp(mask_tokens_out[:, i]) for i, mlp in enumerate(self.output_hypernetworks_mlps)], dim=1
        )  # [B, 4, C/8]
        b, c8, uh, uw = upscaled.shape
        masks = (hyper @ upscaled.view(b, c8, uh * uw)).view(b, -1, uh, uw)
        iou = self.iou_prediction_head.forward_float32(iou_token_out)  # [B, 4] float32, see MLP.forward_float32
        object_score_logits = self.pred_obj_score_head(object_score_token_out)
        return masks, iou, mask_tokens_out, object_score_logits

    def fall_back_to_stable_multimask(
        self, all_masks: torch.Tensor, all_iou: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Single-mask output, replaced by the best-IoU multimask output wherever the single
        mask's stability score is below the threshold. [B, 4, H, W] -> [B, 1, H, W]."""
        rows = torch.arange(all_iou.shape[0], device=all_iou.device)
        best = all_iou[:, 1:].argmax(dim=-1) + 1
        best_masks, best_iou = all_masks[rows, best].unsqueeze(1), all_iou[rows, best].unsqueeze(1)
        single_masks, single_iou = all_masks[:, :1], all_iou[:, :1]
        stable = stability_score(single_masks, 0.0, self.dynamic_multimask_stability_delta)
        stable = stable >= self.dynamic_multimask_stability_thresh  # [B, 1]
        masks = torch.where(stable[..., None, None], single_masks, best_masks)
        iou = torch.where(stable, single_iou, best_iou)
        return masks, iou
