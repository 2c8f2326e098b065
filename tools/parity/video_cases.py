"""Video parity scenarios, shared by the fixture generator and the tests.

A scenario is a list of calls on a video predictor, written once and replayed on Meta's
reference `SAM2VideoPredictor` (to make the fixture) and on Masklet's `VideoPredictor` (in the
tests): both have the same methods and arguments, so `run_scenario` drives either.

Each call's output (masks as logits at video resolution, per object) is recorded as a
`Record`; `pack` shrinks records for committing (COCO RLE of the binary mask, logits
subsampled on a grid, float16).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"
FIXTURES = REPO / "tests" / "fixtures" / "parity" / "video"
SEED = 0
LOGIT_STRIDE = 8  # stored logits are sampled every 8th pixel of the video-resolution map


@dataclass(frozen=True)
class Scenario:
    name: str
    config: str  # a registered Masklet config name
    image_size: int
    frames: str  # "bedroom" or "davis/<sequence>"
    num_frames: int
    steps: list = field(default_factory=list)
    predictor_options: dict = field(default_factory=dict)  # e.g. non_overlap_masks
    # Added to the object-score head's output bias. With the seeded weights that head says
    # "absent" everywhere (logits near -1.3 when tracking), which would blank every mask; +2
    # makes objects visible, 0 keeps the occlusion path under test.
    object_score_bias: float = 0.0


OBJECT_SCORE_BIAS_KEY = "sam_mask_decoder.pred_obj_score_head.layers.2.bias"


def apply_object_score_bias(model, scenario: Scenario) -> None:
    """Shift the object-score head of a seeded model (reference or Masklet) as the scenario says."""
    import torch

    with torch.no_grad():
        model.get_parameter(OBJECT_SCORE_BIAS_KEY).add_(scenario.object_score_bias)


def frame_paths(scenario: Scenario) -> list[Path]:
    if scenario.frames == "bedroom":
        folder = SHARED_DATA / "videos" / "bedroom"
    else:
        folder = SHARED_DATA / "davis2016-val" / "JPEGImages" / "480p" / scenario.frames.split("/", 1)[1]
    return sorted(folder.glob("*.jpg"))[: scenario.num_frames]


def ellipse_mask(height: int, width: int, cx: float, cy: float, rx: float, ry: float) -> np.ndarray:
    ys, xs = np.mgrid[0:height, 0:width]
    return ((xs - cx) / rx) ** 2 + ((ys - cy) / ry) ** 2 <= 1.0


def mask_for(spec: dict, height: int, width: int) -> np.ndarray:
    """A mask prompt: {"ellipse": [cx, cy, rx, ry]} or {"davis": "<seq>/<frame>"} (its GT)."""
    if "ellipse" in spec:
        return ellipse_mask(height, width, *spec["ellipse"])
    from PIL import Image

    seq, frame = spec["davis"].split("/")
    path = SHARED_DATA / "davis2016-val" / "Annotations" / "480p" / seq / f"{frame}.png"
    return np.asarray(Image.open(path)) > 0


# Coordinates are pixels of the video frames (bedroom 960x540, DAVIS 854x480).
SCENARIOS = [
    Scenario(
        "bedroom-512", "sam2.1-hiera-tiny", 512, "bedroom", 8,
        steps=[
            {"op": "points", "frame": 0, "obj": 1, "points": [[420, 250]], "labels": [1]},
            {"op": "points", "frame": 0, "obj": 2, "box": [600, 200, 800, 450]},
            {"op": "mask", "frame": 2, "obj": 3, "mask": {"ellipse": [250, 380, 90, 60]}},
            {"op": "propagate"},
            # an object added after the first propagation, two clicks (single-mask output)
            {"op": "points", "frame": 4, "obj": 4, "points": [[150, 300], [220, 360]], "labels": [1, 0]},
            # a correction click on a tracked frame, added to the earlier clicks
            {"op": "points", "frame": 5, "obj": 1, "points": [[470, 300]], "labels": [0],
             "clear_old_points": False},
            {"op": "propagate"},
            {"op": "propagate", "start_frame_idx": 7, "reverse": True},
            {"op": "clear", "frame": 2, "obj": 3},
            {"op": "remove", "obj": 2},
            {"op": "points", "frame": 2, "obj": 3, "box": [150, 300, 350, 460], "points": [[250, 380]],
             "labels": [1]},
            {"op": "propagate", "start_frame_idx": 2, "max_frame_num_to_track": 3},
        ],
        object_score_bias=2.0,
    ),
    Scenario(
        "car-shadow-sam2.0-512", "sam2-hiera-tiny", 512, "davis/car-shadow", 6,
        steps=[
            {"op": "mask", "frame": 0, "obj": 1, "mask": {"davis": "car-shadow/00000"}},
            {"op": "points", "frame": 0, "obj": 2, "points": [[150, 100]], "labels": [1]},
            {"op": "propagate"},
        ],
        predictor_options={"non_overlap_masks": True},
    ),
    Scenario(
        "bedroom-1024", "sam2.1-hiera-tiny", 1024, "bedroom", 4,
        steps=[
            {"op": "points", "frame": 0, "obj": 1, "points": [[420, 250]], "labels": [1]},
            {"op": "points", "frame": 0, "obj": 2, "box": [600, 200, 800, 450]},
            {"op": "propagate"},
        ],
        object_score_bias=2.0,
    ),
]


@dataclass
class Record:
    """One output of a predictor call: a frame's logits for the listed objects."""

    step: int
    frame_idx: int
    obj_ids: list
    logits: np.ndarray  # [N, H, W] float32 at video resolution


def run_scenario(scenario: Scenario, predictor, state) -> list[Record]:
    """Replay the scenario's steps on `predictor` (reference or Masklet) and `state`."""
    records: list[Record] = []
    height, width = _state_size(state)

    def record(step, frame_idx, obj_ids, masks):
        logits = np.asarray(masks.detach().float().cpu().numpy() if hasattr(masks, "detach") else masks)
        records.append(Record(step, int(frame_idx), [int(o) for o in obj_ids], logits.reshape(-1, height, width)))

    for i, step in enumerate(scenario.steps):
        op = step["op"]
        if op == "points":
            frame_idx, obj_ids, masks = predictor.add_new_points_or_box(
                state, frame_idx=step["frame"], obj_id=step["obj"],
                points=np.array(step["points"], np.float32) if "points" in step else None,
                labels=np.array(step["labels"], np.int32) if "labels" in step else None,
                box=np.array(step["box"], np.float32) if "box" in step else None,
                clear_old_points=step.get("clear_old_points", True),
            )
            record(i, frame_idx, obj_ids, masks)
        elif op == "mask":
            mask = mask_for(step["mask"], height, width)
            frame_idx, obj_ids, masks = predictor.add_new_mask(state, frame_idx=step["frame"], obj_id=step["obj"], mask=mask)
            record(i, frame_idx, obj_ids, masks)
        elif op == "propagate":
            kwargs = {k: step[k] for k in ("start_frame_idx", "max_frame_num_to_track", "reverse") if k in step}
            for frame_idx, obj_ids, masks in predictor.propagate_in_video(state, **kwargs):
                record(i, frame_idx, obj_ids, masks)
        elif op == "clear":
            frame_idx, obj_ids, masks = predictor.clear_all_prompts_in_frame(state, step["frame"], step["obj"])
            record(i, frame_idx, obj_ids, masks)
        elif op == "remove":
            obj_ids, updated = predictor.remove_object(state, step["obj"])
            for frame_idx, masks in updated:
                record(i, frame_idx, obj_ids, masks)
        else:
            raise ValueError(f"unknown scenario step {op!r}")
    return records


def _state_size(state) -> tuple[int, int]:
    return int(state["video_height"]), int(state["video_width"])


def pack(records: list[Record]) -> dict[str, np.ndarray]:
    """Records -> arrays for np.savez_compressed: an index (JSON), RLE masks, sampled logits."""
    from masklet.io.rle import rle_encode

    index, logits = [], []
    for r in records:
        index.append({
            "step": r.step, "frame_idx": r.frame_idx, "obj_ids": r.obj_ids,
            "rle": [rle_encode(m > 0)["counts"] for m in r.logits],
            "size": list(r.logits.shape[-2:]),
        })
        logits.append(r.logits[:, ::LOGIT_STRIDE, ::LOGIT_STRIDE].astype(np.float16))
    out = {"index": np.frombuffer(json.dumps(index).encode(), dtype=np.uint8)}
    for k, value in enumerate(logits):
        out[f"logits_{k}"] = value
    return out


def unpack(fixture) -> list[dict]:
    """The stored records: dicts with step, frame_idx, obj_ids, masks [N, H, W] bool and
    sampled logits [N, h, w]."""
    from masklet.io.rle import rle_decode

    index = json.loads(bytes(fixture["index"]).decode())
    out = []
    for k, entry in enumerate(index):
        h, w = entry["size"]
        masks = np.stack([rle_decode({"size": [h, w], "counts": c}) for c in entry["rle"]]) if entry["rle"] else np.zeros((0, h, w), bool)
        out.append({**entry, "masks": masks.astype(bool), "logits": fixture[f"logits_{k}"].astype(np.float32)})
    return out
