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

from masklet.backend.heads import choose_mask
from masklet.backend.outputs import FramePrediction
from masklet.model.sam2 import SAM2Model
from masklet.predict.memory_bank import MemoryKind, ObjectMemory, select_memory
from masklet.predict.prompts import MASK_LOGIT_LIMIT, Clicks
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
    centre_click_prob: float = 0.0  # a correction click goes to the centre of the larger error, not a random error pixel


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
        # Training keeps memories in the model's dtype (with gradients) and fills no holes.
        self.engine = TrackingEngine(model, fill_hole_area=0, attention_batch_size=None, bfloat16_memory=False)

    def losses(self, batch: ClipBatchView, generator: torch.Generator, encoder_grad: bool = True) -> dict[str, torch.Tensor]:
        """Summed losses of every prediction step of the clip batch ("total" + terms)."""
        model, engine = self.model, self.engine
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
            prompted = t == 0 or t == corrected_frame
            if t == 0 and mask_prompt:
                prediction = engine.prediction_from_masks(features, truth[:, None])
            else:
                selections = [None if t == 0 else select_memory(m, t, False, num_frames, model.config) for m in memories]
                pix_feat = engine.condition_on_memory(features, selections, num_frames)
                clicks = self._first_prompt(truth, generator) if t == 0 else None
                rounds = p.correction_rounds if prompted else 0
                prediction = self._predict_with_corrections(pix_feat, features, truth, clicks, rounds, generator, totals)
            memory = engine.memory_features(features, prediction.high_res_masks, prediction.object_score_logits, prompted)
            kind = MemoryKind.CONDITIONING if prompted else MemoryKind.TRACKED
            for obj, out in zip(memories, engine.outputs(prediction, memory)):
                obj.store(kind, t, out)
        if not totals:  # a one-frame clip prompted with its mask: nothing to learn from
            zero = sum(p.sum() * 0 for p in model.parameters() if p.requires_grad)
            totals = {"focal": zero, "dice": zero, "iou": zero, "score": zero, "total": zero}
        return totals

    def _first_prompt(self, truth: torch.Tensor, generator: torch.Generator) -> Clicks:
        p = self.prompts
        if torch.rand((), generator=generator).item() < p.prob_box:
            return noisy_boxes(truth, generator)
        count = 1 + int(torch.randint(p.max_first_clicks, (), generator=generator))
        return sample_positive_points(truth, count, generator)

    def _add_losses(self, proposals, truth, totals, factor: float = 1.0) -> None:
        logits = F.interpolate(proposals.masks, truth.shape[-2:], mode="bilinear", align_corners=False)
        terms = step_losses(logits, proposals.ious, proposals.object_score_logits, truth, self.weights)
        for key, value in terms.items():
            totals[key] = totals.get(key, 0) + factor * value

    def _predict_with_corrections(
        self, pix_feat, features, truth, clicks: Clicks | None, rounds, generator, totals
    ) -> FramePrediction:
        """The first prediction and `rounds` corrections on one frame; adds every step's
        losses to `totals` and returns the last step's chosen output."""
        prev_logits = None
        for step in range(rounds + 1):
            proposals = self.engine.propose(pix_feat, features, clicks, prev_logits)
            self._add_losses(proposals, truth, totals)
            if proposals.masks.shape[1] > 1 and self.weights.single_mask > 0:
                single = self.engine.propose(pix_feat, features, clicks, prev_logits, multimask=False)
                self._add_losses(single, truth, totals, self.weights.single_mask)
            prediction = choose_mask(self.model, proposals)
            if step == rounds:
                return prediction
            # The user clicks on an error of what they see; the earlier logits go back in as a
            # mask prompt (clamped as at inference), without gradient through the simulation.
            pred = prediction.high_res_masks[:, 0].detach() > 0  # [O, S, S], the truth's grid
            click = correction_clicks(pred, truth, generator, self.prompts.centre_click_prob)
            clicks = click if clicks is None else clicks.followed_by(click, self.engine.arrays)
            prev_logits = prediction.low_res_masks.detach().clamp(-MASK_LOGIT_LIMIT, MASK_LOGIT_LIMIT)
