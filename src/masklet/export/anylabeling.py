"""`masklet export --format anylabeling | x-anylabeling`: an encoder / decoder ONNX pair and a
config.yaml that the SAM 2 loaders of AnyLabeling (PyPI `anylabeling`) and X-AnyLabeling read as
a custom model.

What both loaders do with the pair (AnyLabeling's `services/auto_labeling/sam2_onnx.py`,
X-AnyLabeling's `services/auto_labeling/__base__/sam2.py`; they share one layout):
  - encoder: the image is squashed to the encoder input's S x S with cv2.resize (bilinear, on
    the 8-bit image), ImageNet-normalised and fed as [1, 3, S, S] float32 to the first input; S
    is read from that input's shape, so it is static. The three outputs are taken by position:
    high_res_feats_0, high_res_feats_1, image_embed.
  - decoder: seven inputs fed by position: image_embed, high_res_feats_0, high_res_feats_1,
    point_coords [1, N, 2] float32 (pixels scaled to S x S), point_labels [1, N] float32 (1
    positive, 0 negative, 2 / 3 a box's top-left / bottom-right corner), mask_input
    [1, 1, S/4, S/4] zeros, has_mask_input [1] = 0. Of output 0, masks [1, M, S/4, S/4], the
    one with the highest score in output 1 is resized to the image with cv2.resize and
    thresholded at 0. AnyLabeling tells a SAM 2 decoder from a SAM one by its input
    `high_res_feats_0`.

The two tools differ in config `type` and in colour order: AnyLabeling 0.4.x converts the RGB
image it holds with cv2.COLOR_BGR2RGB before normalising, so its encoder receives B, G, R
planes; X-AnyLabeling feeds R, G, B. The exported encoder undoes the swap for AnyLabeling.

Which masks the decoder outputs follows Masklet's `segment` command: for a lone click
(one point labelled 0 or 1, nothing else) the three multimask candidates, so the tool's choice
by score is the image predictor's best of three; for every other prompt the single-mask output
in all three slots, so the tool takes the image predictor's `multimask_output=False` mask.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import torch
import yaml
from torch import nn

from masklet.backend.heads import image_embeddings
from masklet.export.graphs import EXAMPLE_OBJECTS, EXAMPLE_POINTS, GraphSpec
from masklet.export.onnx_export import DEFAULT_OPSET, ExportError, check_exportable, empty_folder, export_graph
from masklet.export.prompt_decoder import decode_both_modes
from masklet.model.sam2 import SAM2Model

CONFIG_FILE = "config.yaml"
# The tools normalise (image / 255 - mean) / std with ImageNet's statistics, as Masklet does.
TOOL_MEAN = (0.485, 0.456, 0.406)
TOOL_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Tool:
    """What one labelling tool's SAM 2 loader expects beyond the shared layout."""

    display: str
    model_type: str  # config.yaml `type` its model manager dispatches on
    bgr_input: bool  # its encoder input holds B, G, R planes (each normalised with R's, G's, B's statistics)


TOOLS = {
    "anylabeling": Tool("AnyLabeling", "segment_anything", bgr_input=True),
    "x-anylabeling": Tool("X-AnyLabeling", "segment_anything_2", bgr_input=False),
}


class AnyLabelingEncoder(nn.Module):
    """image [1, 3, S, S] ImageNet-normalised (colour planes in the tool's order) ->
    high_res_feats_0 [1, C/8, S/4, S/4], high_res_feats_1 [1, C/4, S/8, S/8],
    image_embed [1, C, S/16, S/16] (with `no_mem_embed`, as the image predictor embeds an image)."""

    def __init__(self, model: SAM2Model, bgr_input: bool) -> None:
        super().__init__()
        self.model, self.bgr_input = model, bgr_input
        self.register_buffer("mean", torch.tensor(TOOL_MEAN).reshape(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(TOOL_STD).reshape(1, 3, 1, 1), persistent=False)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if self.bgr_input:
            pixels = (image * self.std + self.mean).flip(1)  # the tool's normalisation undone, planes as R, G, B
            image = (pixels - self.mean) / self.std
        image_embed, (high_res_0, high_res_1) = image_embeddings(self.model, image)
        return high_res_0, high_res_1, image_embed


class AnyLabelingDecoder(nn.Module):
    """Inputs, in the order the tools feed them:
      image_embed [B, C, h, w], high_res_feats_0 [B, C/8, 4h, 4w], high_res_feats_1 [B, C/4, 2h, 2w]
      point_coords [B, N, 2] (x, y) model pixels, point_labels [B, N] float (-1 padding, 0, 1, 2, 3)
      mask_input [B, 1, 4h, 4w] logits, has_mask_input [1] (0 or 1)
    Outputs: masks [B, 3, 4h, 4w] logits and iou_predictions [B, 3]: the multimask candidates
    for a lone click, the single-mask output repeated otherwise (see the module docstring)."""

    def __init__(self, model: SAM2Model) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, image_embed, high_res_feats_0, high_res_feats_1, point_coords, point_labels, mask_input, has_mask_input
    ) -> tuple[torch.Tensor, torch.Tensor]:
        labels = point_labels.round().to(torch.int64)
        multi_masks, multi_ious, _, single_masks, single_ious, _, _ = decode_both_modes(
            self.model, image_embed, [high_res_feats_0, high_res_feats_1], (point_coords, labels), mask_input,
            has_mask_input,
        )
        clicks = ((labels == 0) | (labels == 1)).sum(1)  # [B]
        lone_click = (clicks == 1) & ((labels >= 0).sum(1) == 1)
        masks = torch.where(lone_click[:, None, None, None], multi_masks, single_masks)
        ious = torch.where(lone_click[:, None], multi_ious, single_ious)
        return masks, ious


def anylabeling_specs(model: SAM2Model, tool: Tool) -> list[GraphSpec]:
    """The encoder (static [1, 3, S, S] input: the tools read S from it) and the decoder
    (dynamic prompts B and points N), named as the ONNX export's graphs of the same networks so
    that `weights="int8"` quantizes the encoder only, as there (`onnx_export.INT8_GRAPHS`)."""
    cfg = model.config
    s, c, h = cfg.image_size, cfg.d_model, cfg.image_embedding_size
    features = {"high_res_feats_0": (c // 8, 4 * h, 4 * h), "high_res_feats_1": (c // 4, 2 * h, 2 * h), "image_embed": (c, h, h)}
    return [
        GraphSpec(
            "image_encoder", lambda m: AnyLabelingEncoder(m, tool.bgr_input),
            {"image": (1, 3, s, s)}, {name: (1, *shape) for name, shape in features.items()}, {},
        ),
        GraphSpec(
            "prompt_decoder", AnyLabelingDecoder,
            {"image_embed": ("prompts", c, h, h), "high_res_feats_0": ("prompts", *features["high_res_feats_0"]),
             "high_res_feats_1": ("prompts", *features["high_res_feats_1"]), "point_coords": ("prompts", "points", 2),
             "point_labels": ("prompts", "points"), "mask_input": ("prompts", 1, 4 * h, 4 * h), "has_mask_input": (1,)},
            {"masks": ("prompts", 3, 4 * h, 4 * h), "iou_predictions": ("prompts", 3)},
            {}, labels=("point_labels",),
        ),
    ]


def export_anylabeling(
    model: SAM2Model, folder: str | Path, tool: str = "anylabeling", opset: int = DEFAULT_OPSET,
    weights: str = "float32", verify: bool = True,
) -> Path:
    """Write image_encoder.onnx, prompt_decoder.onnx and config.yaml for `tool` ("anylabeling" or
    "x-anylabeling") into `folder` (created; must be empty if it exists) and return the
    config's path, the file to load in the tool. With `verify`, both graphs are run by
    onnxruntime against torch on example inputs; the largest differences go into the config's
    `masklet` entry, which the tools ignore."""
    if tool not in TOOLS:
        raise ExportError(f"no SAM 2 loader layout for {tool!r}: choose one of {', '.join(TOOLS)}")
    check_exportable(model, opset, weights)
    folder = empty_folder(folder)
    model = copy.deepcopy(model).eval()
    sizes = {"prompts": EXAMPLE_OBJECTS, "points": EXAMPLE_POINTS}
    graphs = {spec.name: export_graph(model, spec, folder, opset, weights, verify, sizes)
              for spec in anylabeling_specs(model, TOOLS[tool])}
    name, size = model.config.name, model.config.image_size
    export_notes: dict = {"tool": TOOLS[tool].display, "opset": opset, "weights": weights}
    if verify:
        export_notes["max_abs_diff_on_examples"] = {k: g["max_abs_diff_on_examples"] for k, g in graphs.items()}
    config = {
        "type": TOOLS[tool].model_type,
        "name": name,
        "display_name": f"{name} (Masklet SAM 2)",
        "encoder_model_path": graphs["image_encoder"]["file"],
        "decoder_model_path": graphs["prompt_decoder"]["file"],
        "input_size": size, "max_width": size, "max_height": size,  # AnyLabeling requires all three
        "masklet": export_notes,
    }
    path = folder / CONFIG_FILE
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path
