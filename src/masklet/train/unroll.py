"""A training clip played through SAM 2 the way a user session goes, with gradients.

Frame 0 is prompted (the ground-truth mask, a noisy box or clicks), then corrected with
clicks sampled from the error region; every later frame is segmented from memory (memory
attention over the object's conditioning frame, its recent frames and object pointers),
and one of them may be corrected with clicks too and then serves as a conditioning frame.
Memory encoding, memory selection and memory attention are the inference code paths
(`masklet.predict`), so what is trained is what is run.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from masklet.model.sam2 import SAM2Model, SamHeads
from masklet.predict.memory_bank import FrameOutput, ObjectMemory, select_memory
from masklet.predict.tracking import FrameFeatures, TrackingEngine
from masklet.train.losses import LossWeights, step_losses
from masklet.train.prompts import correction_clicks, noisy_boxes, sample_positive_points


@dataclass(frozen=True)
class PromptSimulation:
    """How the simulated user prompts a clip (probabilities per clip batch)."""

    prob_mask_prompt: float = 0.5  # first frame given as the ground-truth mask
    prob_box: float = 0.5  # otherwise: a noisy box instead of clicks
    max_first_clicks: int = 1  # otherwise: 1..max clicks inside the object
    correction_rounds: int = 3  # rounds of one extra click each on a prompted frame
    prob_correct_later_frame: float = 0.5  # one later frame also gets correction rounds


@dataclass
class ClipBatchView:
    """What the unroll needs of a batch (see masklet.train.data.ClipBatch)."""

    frames: torch.Tensor  # [B, T, 3, S, S]
    masks: torch.Tensor  # [T, O, S, S] bool
    clip_of_object: torch.Tensor  # [O] long


class ClipUnroller:
    def __init__(self, model: SAM2Model, prompts: PromptSimulation = PromptSimulation(), weights: LossWeights = LossWeights()):
        self.model = model
        self.prompts = prompts
        self.weights = weights
        self.engine = TrackingEngine(model, attention_batch_size=None)

    def losses(self, batch: ClipBatchView, generator: torch.Generator, encoder_grad: bool = True) -> dict[str, torch.Tensor]:
        """Summed losses of every prediction step of the clip batch ("total" + terms)."""
        model, cfg = self.model, self.model.config
        frames = batch.frames.to(model.device, model.dtype)
        num_clips, num_frames = frames.shape[:2]
        masks = batch.masks.to(model.device)
        num_objects = masks.shape[1]
        with torch.set_grad_enabled(encoder_grad and torch.is_grad_enabled()):
            image_out = model.forward_image(frames.flatten(0, 1))  # [B*T, ...] frame-major per clip
        fpn, pos = image_out["backbone_fpn"], image_out["vision_pos_enc"]
        clip_of_object = batch.clip_of_object.to(model.device)

        def object_features(t: int) -> FrameFeatures:
            rows = clip_of_object * num_frames + t  # [O]
            return FrameFeatures(fpn[-1][rows], pos[-1][rows], [level[rows] for level in fpn[:-1]])

        p = self.prompts
        draw = lambda: torch.rand((), generator=generator).item()  # noqa: E731
        mask_prompt = draw() < p.prob_mask_prompt
        corrected_frame = None
        if num_frames > 1 and draw() < p.prob_correct_later_frame:
            corrected_frame = 1 + int(torch.randint(num_frames - 1, (), generator=generator))

        memories = [ObjectMemory() for _ in range(num_objects)]
        totals: dict[str, torch.Tensor] = {}
        for t in range(num_frames):
            features, truth = object_features(t), masks[t]
            if t == 0 and mask_prompt:
                heads = model.mask_as_output(features.vision_feats, features.high_res_feats, truth[:, None])
                high_res, scores, obj_ptr, low_res = heads.high_res_masks, heads.object_score_logits, heads.obj_ptr, heads.low_res_masks
                prompted = True
            else:
                if t == 0:
                    pix_feat = features.vision_feats + model.no_mem_embed.view(1, -1, 1, 1)
                    points, labels = self._first_prompt(truth, generator)
                else:
                    selections = [select_memory(m, t, False, num_frames, cfg) for m in memories]
                    pix_feat = self.engine.condition_on_memory(features, selections, num_frames)
                    points = labels = None
                prompted = t == 0 or t == corrected_frame
                rounds = p.correction_rounds if prompted else 0
                best = self._predict_with_corrections(pix_feat, features, truth, points, labels, rounds, generator, totals)
                high_res, scores, obj_ptr, low_res = best.high_res_masks, best.object_score_logits, best.obj_ptr, best.low_res_masks
            memory = model.encode_memory(features.vision_feats, high_res, scores, binarize=prompted)
            for i, obj in enumerate(memories):
                out = FrameOutput(low_res[i : i + 1], obj_ptr[i : i + 1], scores[i : i + 1], memory[i : i + 1])
                (obj.cond if prompted else obj.non_cond)[t] = out
        if not totals:  # a one-frame clip prompted with its mask: nothing to learn from
            zero = sum(p.sum() * 0 for p in model.parameters() if p.requires_grad)
            totals = {"focal": zero, "dice": zero, "iou": zero, "score": zero, "total": zero}
        return totals

    def _first_prompt(self, truth: torch.Tensor, generator: torch.Generator):
        p = self.prompts
        if torch.rand((), generator=generator).item() < p.prob_box:
            return noisy_boxes(truth, generator)
        count = 1 + int(torch.randint(p.max_first_clicks, (), generator=generator))
        return sample_positive_points(truth, count, generator)

    def _predict_with_corrections(self, pix_feat, features, truth, points, labels, rounds, generator, totals):
        """The first prediction and `rounds` corrections on one frame; adds every step's
        losses to `totals` and returns the last step's chosen output."""
        model = self.model
        prev_logits = None
        best = None
        for step in range(rounds + 1):
            num_points = 0 if labels is None else labels.shape[1]
            heads: SamHeads = model.sam_heads(
                pix_feat, features.high_res_feats, points, labels,
                mask_logits=prev_logits, multimask_output=num_points <= 1,
            )
            logits = F.interpolate(heads.masks, truth.shape[-2:], mode="bilinear", align_corners=False)
            terms = step_losses(logits, heads.ious, heads.object_score_logits, truth, self.weights)
            for key, value in terms.items():
                totals[key] = totals.get(key, 0) + value
            best = model.best_head_output(heads)
            if step == rounds:
                break
            # The user clicks on an error of what they see; the earlier logits go back in as a
            # mask prompt (clamped as at inference), without gradient through the simulation.
            pred = best.high_res_masks[:, 0].detach() > 0  # [O, S, S], the truth's grid
            click, click_label = correction_clicks(pred, truth, generator)
            points = click if points is None else torch.cat([points, click], 1)
            labels = click_label if labels is None else torch.cat([labels, click_label], 1)
            prev_logits = best.low_res_masks.detach().clamp(-32, 32)
        return best
