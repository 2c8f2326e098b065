"""`make demo`: the image predictor end to end, offline.

Builds the sam2.1-hiera-tiny network, writes its weights as an official Meta-format
checkpoint, loads that file back through `masklet.load_model`, embeds a real photo
(scikit-image's bundled 'coffee' sample), prompts it with a box and a click, and writes the
masks and an overlay under out/demo/.

The weights are UNTRAINED (random, seeded): the pipeline is real, the masks are not meaningful.
Official weights cannot be fetched on this machine; with network access pass
`--model sam2.1-hiera-tiny` (downloads Meta's checkpoint) or any local checkpoint path.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import masklet


def overlay(image: np.ndarray, mask: np.ndarray, color=(30, 144, 255)) -> np.ndarray:
    out = image.astype(np.float32).copy()
    out[mask] = 0.45 * out[mask] + 0.55 * np.array(color, np.float32)
    return out.clip(0, 255).astype(np.uint8)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="checkpoint path or official name (default: untrained tiny, written locally)")
    parser.add_argument("--output", default="out/demo", help="output folder (default: out/demo)")
    args = parser.parse_args(argv)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)

    from skimage import data

    image = data.coffee()  # 400 x 600 RGB photo bundled with scikit-image
    if args.model:
        checkpoint = args.model
    else:
        checkpoint = out / "sam2.1_hiera_tiny_untrained.pt"
        if not checkpoint.exists():
            torch.manual_seed(0)
            masklet.save_model(masklet.build_model("sam2.1-hiera-tiny"), checkpoint)
        print(f"NOTE: {checkpoint} holds UNTRAINED random weights in Meta's checkpoint format;")
        print("      the masks below show the pipeline working, not a trained model's quality.")

    model = masklet.load_model(checkpoint)
    print(f"loaded {checkpoint}: config {model.config.name}, {sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters")
    predictor = masklet.ImagePredictor(model)
    start = time.perf_counter()
    predictor.set_image(image)
    embed_s = time.perf_counter() - start
    start = time.perf_counter()
    masks, scores, _ = predictor.predict(
        point_coords=np.array([[300, 200]]), point_labels=np.array([1]), box=np.array([150, 40, 450, 330]),
        multimask_output=False,
    )
    predict_s = time.perf_counter() - start
    mask = masks[0]
    Image.fromarray(mask.astype(np.uint8) * 255).save(out / "mask.png")
    Image.fromarray(overlay(image, mask)).save(out / "overlay.png")
    print(f"image 600x400: set_image {embed_s:.2f}s, predict {predict_s * 1000:.0f}ms on {model.device}")
    print(f"mask covers {mask.mean():.1%} of the image, predicted IoU {scores[0]:.3f}")
    print(f"wrote {out / 'mask.png'} and {out / 'overlay.png'}")


if __name__ == "__main__":
    main()
