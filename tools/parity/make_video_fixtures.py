"""Write the video-predictor parity fixtures from Meta's reference implementation.

Run in the reference venv from the repo root:
    PYTHONPATH=src:tools/parity /tmp/refvenv/bin/python tools/parity/make_video_fixtures.py [scenario ...]
For each scenario of video_cases.py it builds the reference `SAM2VideoPredictor` on the CPU
(the builder's settings, `image_size` as the scenario says), fills it with the seeded weights,
replays the scenario on the first frames of a real video and writes
tests/fixtures/parity/video/<scenario>.npz.

One patch is applied to the reference: its memory attention receives the memory bank cast to
float32. The reference stores memories as bfloat16; whenever object pointers (float32) are in
the bank, `torch.cat` promotes the bank to float32 anyway, and when there are none (an object
tracked over frames before its first prompt) the unpatched reference stops with a dtype
mismatch on the CPU. The cast is therefore exactly the reference's own arithmetic where it
runs, and lets it run where it would crash.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from make_image_fixtures import REFERENCE_CONFIG_FILES
from video_cases import FIXTURES, SCENARIOS, SEED, apply_object_score_bias, frame_paths, pack, run_scenario
from weights import fill_module


def build_reference_video_predictor(scenario):
    from sam2.build_sam import build_sam2_video_predictor

    overrides = [f"++model.image_size={scenario.image_size}"]
    overrides += [f"++model.{k}={str(v).lower()}" for k, v in scenario.predictor_options.items()]
    predictor = build_sam2_video_predictor(
        REFERENCE_CONFIG_FILES[scenario.config], ckpt_path=None, device="cpu",
        hydra_overrides_extra=overrides,
    )
    fill_module(predictor, seed=SEED)
    apply_object_score_bias(predictor, scenario)
    attention_forward = predictor.memory_attention.forward

    def forward_with_float_memory(curr, memory, curr_pos=None, memory_pos=None, num_obj_ptr_tokens=0):
        return attention_forward(
            curr=curr, memory=memory.float(), curr_pos=curr_pos, memory_pos=memory_pos.float(),
            num_obj_ptr_tokens=num_obj_ptr_tokens,
        )

    predictor.memory_attention.forward = forward_with_float_memory
    return predictor.eval()


def main(names: list[str]) -> None:
    torch.set_grad_enabled(False)
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for scenario in SCENARIOS:
        if names and scenario.name not in names:
            continue
        start = time.time()
        predictor = build_reference_video_predictor(scenario)
        with tempfile.TemporaryDirectory() as folder:
            # The reference reads a whole folder named by frame number: link the first frames.
            for i, path in enumerate(frame_paths(scenario)):
                (Path(folder) / f"{i:05d}.jpg").symlink_to(path.resolve())
            state = predictor.init_state(folder)
            records = run_scenario(scenario, predictor, state)
        np.savez_compressed(FIXTURES / f"{scenario.name}.npz", **pack(records))
        span = max(float(np.abs(r.logits).max()) for r in records if r.logits.size)
        print(f"{scenario.name}: {len(records)} records, max |logit| {span:.1f}, {time.time() - start:.1f}s")


if __name__ == "__main__":
    main(sys.argv[1:])
