"""Reference outputs of the memory encoder and memory attention (the video modules).

Run in the reference venv from the repo root:
    /tmp/refvenv/bin/python tools/parity/make_memory_fixtures.py
The reference sam2.1 tiny model gets the seeded weights; its memory encoder and memory
attention run on seeded inputs shaped like tracking at a 16x16 feature grid (two memory
frames plus 8 object-pointer tokens); outputs go to tests/fixtures/parity/memory.npz.
"""

from __future__ import annotations

import numpy as np
import torch
from cases import FIXTURES
from make_image_fixtures import build_reference

GRID = 16  # feature grid side
MEMORY_FRAMES = 2
POINTER_TOKENS = 8


def memory_inputs() -> dict[str, np.ndarray]:
    """Deterministic inputs (batch-first) for both implementations."""
    rng = np.random.default_rng(1234)
    hw = GRID * GRID
    mem_tokens = MEMORY_FRAMES * hw + POINTER_TOKENS
    return {
        "pix_feat": rng.standard_normal((2, 256, GRID, GRID)).astype(np.float32),
        "mask_logits": (rng.standard_normal((2, 1, GRID * 16, GRID * 16)) * 8).astype(np.float32),
        "curr": rng.standard_normal((2, hw, 256)).astype(np.float32),
        "curr_pos": rng.standard_normal((2, hw, 256)).astype(np.float32),
        "memory": rng.standard_normal((2, mem_tokens, 64)).astype(np.float32),
        "memory_pos": rng.standard_normal((2, mem_tokens, 64)).astype(np.float32),
    }


def main() -> None:
    torch.set_grad_enabled(False)
    model = build_reference("sam2.1-hiera-tiny")
    inputs = memory_inputs()
    t = {k: torch.from_numpy(v) for k, v in inputs.items()}
    encoded = model.memory_encoder(t["pix_feat"], t["mask_logits"])
    # The reference's memory attention takes sequence-first tensors.
    attended = model.memory_attention(
        curr=t["curr"].transpose(0, 1), memory=t["memory"].transpose(0, 1),
        curr_pos=t["curr_pos"].transpose(0, 1), memory_pos=t["memory_pos"].transpose(0, 1),
        num_obj_ptr_tokens=POINTER_TOKENS,
    ).transpose(0, 1)
    np.savez_compressed(
        FIXTURES.parent / "memory.npz",
        memory_features=encoded["vision_features"].numpy(),
        memory_pos=encoded["vision_pos_enc"][0].numpy(),
        attended=attended.numpy(),
    )
    print("memory features", tuple(encoded["vision_features"].shape), "attended", tuple(attended.shape),
          f"max |attended| {attended.abs().max():.2f}")


if __name__ == "__main__":
    main()
