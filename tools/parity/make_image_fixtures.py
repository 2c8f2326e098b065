"""Write the image-predictor parity fixtures from Meta's reference implementation.

Run in a venv with the reference installed (see setup_refvenv.sh), from the repo root:
    /tmp/refvenv/bin/python tools/parity/make_image_fixtures.py [config ...]
For each config it builds the reference SAM 2 model on the CPU, fills it with the seeded
weights of weights.py, runs the prompt cases of cases.py on the real images in
../shared/data/images, and writes tests/fixtures/parity/image/<config>.npz.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch
from cases import FIXTURES, PLANS, SEED, pack, run_plan
from weights import fill_module

REFERENCE_CONFIG_FILES = {
    "sam2-hiera-tiny": "configs/sam2/sam2_hiera_t.yaml",
    "sam2-hiera-small": "configs/sam2/sam2_hiera_s.yaml",
    "sam2-hiera-base-plus": "configs/sam2/sam2_hiera_b+.yaml",
    "sam2-hiera-large": "configs/sam2/sam2_hiera_l.yaml",
    "sam2.1-hiera-tiny": "configs/sam2.1/sam2.1_hiera_t.yaml",
    "sam2.1-hiera-small": "configs/sam2.1/sam2.1_hiera_s.yaml",
    "sam2.1-hiera-base-plus": "configs/sam2.1/sam2.1_hiera_b+.yaml",
    "sam2.1-hiera-large": "configs/sam2.1/sam2.1_hiera_l.yaml",
}


def build_reference(name: str, seed: int = SEED):
    from sam2.build_sam import build_sam2

    model = build_sam2(REFERENCE_CONFIG_FILES[name], ckpt_path=None, device="cpu")
    fill_module(model, seed=seed)
    return model.eval()


def main(names: list[str]) -> None:
    from sam2.sam2_image_predictor import SAM2ImagePredictor

    torch.set_grad_enabled(False)
    FIXTURES.mkdir(parents=True, exist_ok=True)
    images = {}
    for plan in PLANS:
        if names and plan.name not in names:
            continue
        start = time.time()
        predictor = SAM2ImagePredictor(build_reference(plan.name))
        outputs = run_plan(plan, predictor, images)
        np.savez_compressed(FIXTURES / f"{plan.name}.npz", **pack(outputs, plan.logit_stride))
        logit_range = max(float(np.abs(v).max()) for k, v in outputs.items() if k.endswith("low_res"))
        print(f"{plan.name}: {len(outputs) // 3} outputs, max |logit| {logit_range:.1f}, {time.time() - start:.1f}s")


if __name__ == "__main__":
    main(sys.argv[1:])
