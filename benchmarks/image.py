"""Time set_image and predict: Masklet vs Meta's reference, same weights, same image.

    .venv/bin/python benchmarks/image.py [--configs sam2.1-hiera-tiny sam2.1-hiera-base-plus]
        [--ref-python /tmp/refvenv/bin/python] [--repeats 3] [--threads 2]

Each side runs in its own process (the reference lives in its own venv; see
tools/parity/setup_refvenv.sh), on the CPU, with the seeded parity weights and the real image
../shared/data/images/truck.jpg (scikit-image's astronaut when ../shared is absent).
Reported: median seconds over --repeats after one warm-up, and reference / Masklet ratios.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools" / "parity"))


def load_image():
    import numpy as np

    truck = REPO.parent / "shared" / "data" / "images" / "truck.jpg"
    if truck.exists():
        from PIL import Image

        return np.asarray(Image.open(truck).convert("RGB")), "truck.jpg"
    from skimage import data

    return data.astronaut(), "skimage astronaut"


def worker(side: str, config: str, repeats: int, threads: int) -> dict:
    import numpy as np
    import torch

    torch.set_num_threads(threads)
    torch.set_grad_enabled(False)
    if side == "reference":
        from make_image_fixtures import build_reference
        from sam2.sam2_image_predictor import SAM2ImagePredictor

        predictor = SAM2ImagePredictor(build_reference(config))
    else:
        from weights import seeded_state_dict

        import masklet

        model = masklet.build_model(config)
        model.load_state_dict(seeded_state_dict(model.state_dict()))
        predictor = masklet.ImagePredictor(model)
    image, _ = load_image()
    prompt = dict(point_coords=np.array([[900.0, 600.0]]), point_labels=np.array([1]))

    def timed(fn, n):
        fn()  # warm-up
        times = []
        for _ in range(n):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return sorted(times)[len(times) // 2]

    set_image = timed(lambda: predictor.set_image(image), repeats)
    predict = timed(lambda: predictor.predict(**prompt), repeats * 5)
    return {"set_image": set_image, "predict": predict}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", nargs="+", default=["sam2.1-hiera-tiny", "sam2.1-hiera-base-plus"])
    parser.add_argument("--ref-python", default="/tmp/refvenv/bin/python")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--worker", choices=["masklet", "reference"], help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        print(json.dumps(worker(args.worker, args.configs[0], args.repeats, args.threads)))
        return

    _, image_name = load_image()
    print(f"image: {image_name}; CPU threads: {args.threads}; median of {args.repeats} (predict: {args.repeats * 5})")
    print(f"{'config':<24}{'side':<11}{'set_image s':>12}{'predict ms':>12}")
    for config in args.configs:
        results = {}
        for side, python in (("masklet", sys.executable), ("reference", args.ref_python)):
            if not Path(python).exists():
                print(f"{config:<24}{side:<11}  skipped: {python} not found")
                continue
            cmd = [python, __file__, "--worker", side, "--configs", config,
                   "--repeats", str(args.repeats), "--threads", str(args.threads)]
            env = {"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"}
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if proc.returncode:
                print(f"{config:<24}{side:<11}  failed: {proc.stderr.strip().splitlines()[-1]}")
                continue
            results[side] = json.loads(proc.stdout.strip().splitlines()[-1])
            r = results[side]
            print(f"{config:<24}{side:<11}{r['set_image']:>12.3f}{r['predict'] * 1000:>12.1f}")
        if len(results) == 2:
            m, r = results["masklet"], results["reference"]
            print(f"{config:<24}{'ratio':<11}{r['set_image'] / m['set_image']:>11.2f}x{r['predict'] / m['predict']:>11.2f}x"
                  "   (reference time / Masklet time)")


if __name__ == "__main__":
    main()
