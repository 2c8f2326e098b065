"""SAM mask decoder: output tokens + prompt tokens attend to the image through the two-way
transformer; hypernetwork MLPs turn mask tokens into per-pixel mask logits on an upscaled map
that also receives the high-resolution FPN features."""

from __future__ import annotations

import torch
from torch import nn

from masklet.model.common import MLP, LayerNorm2d


def stability_score(mask_logits: torch.Tensor, threshold: float, offset: float) -> torch.Tensor:
    """IoU between the masks thresholded at threshold + offset and threshold - offset,
    [..., H, W] -> [...]; 1 where both are empty (as the reference's decoder scores them).
    Used by the decoder's dynamic multimask fallback and by automatic mask generation."""
    flat = mask_logits.flatten(-2)
    inner = (flat > threshold + offset).sum(-1).float()
    outer = (flat > threshold - offset).sum(-1).float()
    return torch.where(outer > 0, inner / outer, torch.ones_like(inner))


class MaskDecoder(nn.Module):
    """Token layout: [obj_score, iou, mask_0 (single), mask_1..3 (multimask), prompts...]."""

    def __init__(
        self,
        transformer_dim: int,
        transformer: nn.Module,
        num_multimask_outputs: int = 3,
        activation: type[nn.Module] = nn.GELU,
        iou_head_depth: int = 3,
        iou_head_hidden_dim: int = 256,
        use_high_res_features: bool = False,
        iou_prediction_use_sigmoid: bool = False,
        dynamic_multimask_via_stability: bool = False,
        dynamic_multimask_stability_delta: float = 0.05,
        dynamic_multimask_stability_thresh: float = 0.98,
        pred_obj_scores: bool = False,
        pred_obj_scores_mlp: bool = False,
        use_multimask_token_for_obj_ptr: bool = False,
    ) -> None:
        super().__init__()
        dim = transformer_dim
        self.transformer_dim = dim
        self.transformer = transformer
        self.num_multimask_outputs = num_multimask_outputs
        self.num_mask_tokens = num_multimask_outputs + 1
        self.iou_token = nn.Embedding(1, dim)
        self.mask_tokens = nn.Embedding(self.num_mask_tokens, dim)
        self.pred_obj_scores = pred_obj_scores
        if pred_obj_scores:
            self.obj_score_token = nn.Embedding(1, dim)
        self.use_multimask_token_for_obj_ptr = use_multimask_token_for_obj_ptr

        # [B, C, h, w] -> [B, C/8, 4h, 4w]
        self.output_upscaling = nn.Sequential(
            nn.ConvTranspose2d(dim, dim // 4, kernel_size=2, stride=2),
            LayerNorm2d(dim // 4),
            activation(),
            nn.ConvTranspose2d(dim // 4, dim // 8, kernel_size=2, stride=2),
            activation(),
        )
        self.use_high_res_features = use_high_res_features
        if use_high_res_features:
            # Applied by SAM2Model.forward_image to the stride-4 and stride-8 FPN levels.
            self.conv_s0 = nn.Conv2d(dim, dim // 8, kernel_size=1)
            self.conv_s1 = nn.Conv2d(dim, dim // 4, kernel_size=1)
        self.output_hypernetworks_mlps = nn.ModuleList(
            MLP(dim, dim, dim // 8, 3) for _ in range(self.num_mask_tokens)
        )
        self.iou_prediction_head = MLP(
            dim, iou_head_hidden_dim, self.num_mask_tokens, iou_head_depth,
            sigmoid_output=iou_prediction_use_sigmoid,
        )
        if pred_obj_scores:
            self.pred_obj_score_head = MLP(dim, dim, 1, 3) if pred_obj_scores_mlp else nn.Linear(dim, 1)
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
        high_res_features: list[torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """
        image_embeddings [B or 1, C, h, w], image_pe [1, C, h, w], sparse [B, N, C],
        dense [B, C, h, w]; with repeat_image the single image serves all B prompt sets.
        Returns masks [B, M, 4h, 4w], iou [B, M], tokens for the object pointer [B, M', C]
        and object-score logits [B, 1]; M = 3 with multimask_output, else 1.
        """
        masks, iou, mask_tokens_out, object_score_logits = self.predict_masks(
            image_embeddings, image_pe, sparse_prompt_embeddings, dense_prompt_embeddings,
            repeat_image, high_res_features,
        )
        if multimask_output:
            masks, iou = masks[:, 1:], iou[:, 1:]
        elif self.dynamic_multimask_via_stability and not self.training:
            masks, iou = self.fall_back_to_stable_multimask(masks, iou)
        else:
            masks, iou = masks[:, :1], iou[:, :1]
        if multimask_output and self.use_multimask_token_for_obj_ptr:
            tokens = mask_tokens_out[:, 1:]
        else:
            tokens = mask_tokens_out[:, :1]
        return masks, iou, tokens, object_score_logits

    def predict_masks(
        self,
        image_embeddings: torch.Tensor,
        image_pe: torch.Tensor,
        sparse_prompt_embeddings: torch.Tensor,
        dense_prompt_embeddings: torch.Tensor,
        repeat_image: bool,
        high_res_features: list[torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """All 4 masks [B, 4, 4h, 4w], 4 IoUs, the 4 mask tokens and object-score logits."""
        batch = sparse_prompt_embeddings.shape[0]
        head = [self.iou_token.weight, self.mask_tokens.weight]
        if self.pred_obj_scores:
            head.insert(0, self.obj_score_token.weight)
        first = 1 if self.pred_obj_scores else 0  # index of the IoU token
        output_tokens = torch.cat(head).unsqueeze(0).expand(batch, -1, -1)
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
        image = image_embeddings + dense_prompt_embeddings  # [B, C, h, w]
        b, c, h, w = image.shape
        pos = image_pe.expand(b, -1, -1, -1)

        hs, image_tokens = self.transformer(image, pos, tokens)
        iou_token_out = hs[:, first]
        mask_tokens_out = hs[:, first + 1 : first + 1 + self.num_mask_tokens]

        image = image_tokens.transpose(1, 2).reshape(b, c, h, w)
        if self.use_high_res_features:
            if high_res_features is None:
                raise ValueError(
                    "this decoder was built with use_high_res_features=True: pass the "
                    "stride-4 and stride-8 features projected by conv_s0 / conv_s1"
                )
            deconv1, norm1, act1, deconv2, act2 = self.output_upscaling
            feat_s0, feat_s1 = high_res_features
            upscaled = act1(norm1(deconv1(image) + feat_s1))
            upscaled = act2(deconv2(upscaled) + feat_s0)
        else:
            upscaled = self.output_upscaling(image)

        hyper = torch.stack(
            [mlp(mask_tokens_out[:, i]) for i, mlp in enumerate(self.output_hypernetworks_mlps)], dim=1
        )  # [B, 4, C/8]
        b, c8, uh, uw = upscaled.shape
        masks = (hyper @ upscaled.view(b, c8, uh * uw)).view(b, -1, uh, uw)
        iou = self.iou_prediction_head(iou_token_out)
        if self.pred_obj_scores:
            object_score_logits = self.pred_obj_score_head(hs[:, 0])
        else:
            object_score_logits = iou.new_full((iou.shape[0], 1), 10.0)
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
