"""Time Meta's reference SAM 2 (`pip install sam2`) as `masklet.eval.speed` times Masklet.

Run by the reference's own Python (its own venv), never imported by Masklet:

    REFERENCE_PYTHON reference_speed.py JOB.json

JOB.json is the job `masklet benchmark` writes: an official-format checkpoint, the reference's
config file, device, dtype, image, frames, object counts and repeats. The timing helpers come
from `timing.py` beside this file, loaded by path (the reference's venv has no masklet).
With dtype bfloat16 the reference runs under `torch.autocast`, as its README recommends; in
float32 on the CPU its memory attention is given float32 memories (the reference keeps them
in bfloat16 and would otherwise fail without autocast).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def load_timing():
    spec = importlib.util.spec_from_file_location("masklet_timing", Path(__file__).with_name("timing.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


def float_memories(predictor) -> None:
    """Cast the memory bank to the queries' dtype before the reference's memory attention."""
    attention = predictor.memory_attention
    forward = attention.forward

    def forward_in_query_dtype(curr, memory, curr_pos=None, memory_pos=None, num_obj_ptr_tokens=0):
        dtype = (curr[0] if isinstance(curr, list) else curr).dtype  # it takes a tensor or a one-item list
        return forward(curr=curr, memory=memory.to(dtype), curr_pos=curr_pos,
                       memory_pos=memory_pos.to(dtype), num_obj_ptr_tokens=num_obj_ptr_tokens)

    attention.forward = forward_in_query_dtype


def main(job_path: str) -> None:
    from sam2.build_sam import build_sam2, build_sam2_video_predictor
    from sam2.sam2_image_predictor import SAM2ImagePredictor

    timing = load_timing()
    job = json.loads(Path(job_path).read_text())
    if job.get("threads"):
        torch.set_num_threads(job["threads"])
    torch.set_grad_enabled(False)
    device = job["device"]
    autocast = (
        torch.autocast(device.split(":")[0], dtype=torch.bfloat16) if job["dtype"] == "bfloat16"
        else contextlib.nullcontext()
    )
    synchronize = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    pixels = np.asarray(Image.open(job["image"]).convert("RGB"))
    with autocast:
        model = build_sam2(job["reference_config"], ckpt_path=job["checkpoint"], device=device)
        predictor = SAM2ImagePredictor(model)
        encode_ms = timing.median_ms(lambda: predictor.set_image(pixels), job["repeats"], synchronize)
        click = dict(point_coords=np.array([[pixels.shape[1] / 2, pixels.shape[0] / 2]]), point_labels=np.array([1]))
        decode_ms = timing.median_ms(lambda: predictor.predict(**click), 5 * job["repeats"], synchronize)
        parameters = sum(p.numel() for p in model.parameters())
        predictor = model = None  # freed before the video predictor is built

        video = build_sam2_video_predictor(
            job["reference_config"], ckpt_path=job["checkpoint"], device=device,
            hydra_overrides_extra=["++model.fill_hole_area=0"],
        )
        if job["dtype"] == "float32":
            float_memories(video)
        width, height = Image.open(job["frames"][0]).size
        frame_folder = str(Path(job["frames"][0]).parent)
        frame_ms = {}
        for count in job["objects"]:
            state = video.init_state(frame_folder)
            for obj_id, point in enumerate(timing.click_grid(count, width, height), start=1):
                video.add_new_points_or_box(state, 0, obj_id, points=np.array([point], np.float32),
                                            labels=np.array([1], np.int32))
            frame_ms[count] = timing.full_memory_frame_ms(
                video.propagate_in_video(state), video.num_maskmem, synchronize
            )
    record = timing.SpeedRecord("reference", job["model"], job["dtype"], device, parameters, encode_ms, decode_ms,
                                frame_ms, timing.peak_memory_mib(device))
    print(json.dumps(record.to_dict()))


if __name__ == "__main__":
    main(sys.argv[1])
