"""Record what the reference writes as a checkpoint for the seeded sam2.1 tiny weights.

Run in the reference venv from the repo root:
    /tmp/refvenv/bin/python tools/parity/make_checkpoint_manifest.py
The reference model, filled with weights.py's values, is saved the way Meta's code saves
checkpoints (torch.save({"model": state_dict})). The file is read back and every tensor's
sha256 recorded in tests/fixtures/parity/reference_checkpoint_sam2.1-hiera-tiny.json, so
tests can prove that the file they write from the seed is that same checkpoint. If Masklet is
importable here (PYTHONPATH=src), the reference-written file is also loaded by Masklet and its
predictions compared with the reference's.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

import numpy as np
import torch
from cases import FIXTURES, load_image
from make_image_fixtures import build_reference

NAME = "sam2.1-hiera-tiny"


def main() -> None:
    torch.set_grad_enabled(False)
    reference = build_reference(NAME)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sam2.1_hiera_tiny.pt"
        torch.save({"model": reference.state_dict()}, path)
        state = torch.load(path, map_location="cpu", weights_only=True)["model"]
        manifest = {
            "keys": list(state),
            "sha256": {k: hashlib.sha256(v.numpy().tobytes()).hexdigest() for k, v in state.items()},
        }
        out = FIXTURES.parent / f"reference_checkpoint_{NAME}.json"
        out.write_text(json.dumps(manifest, indent=0))
        print(f"wrote {out} ({len(state)} tensors)")
        try:
            import masklet
        except ImportError:
            return
        from sam2.sam2_image_predictor import SAM2ImagePredictor

        image = load_image("truck")
        prompt = dict(point_coords=np.array([[900, 600]]), point_labels=np.array([1]))
        results = []
        for predictor in (SAM2ImagePredictor(reference), masklet.ImagePredictor(masklet.load_model(path))):
            predictor.set_image(image)
            results.append(predictor.predict(**prompt))
        (m_ref, iou_ref, lr_ref), (m_ours, iou_ours, lr_ours) = results
        print(
            f"Masklet on the reference-written file: max|d logits| {np.abs(lr_ref - lr_ours).max():.2e}, "
            f"max|d iou| {np.abs(iou_ref - iou_ours).max():.2e}, "
            f"mask pixels differing {np.mean(m_ref != m_ours):.2e}"
        )


if __name__ == "__main__":
    main()
