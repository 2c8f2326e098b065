"""Video tracking speed and memory: Masklet vs Meta's reference, same weights, same frames.

    .venv/bin/python benchmarks/video.py [--config sam2.1-hiera-tiny] [--frames 30]
        [--objects 1 3 8] [--sides masklet reference] [--ref-python /tmp/refvenv/bin/python]
        [--threads 2] [--output results.json]

Every (side, object count) runs in a fresh process, on the CPU, with the seeded parity
weights: the first --frames frames of ../shared/data/videos/bedroom (960x540, model input
1024), N objects clicked on frame 0 (a fixed grid of points), then `propagate_in_video` over
all frames. Reported per run: seconds per frame of propagation (prompting excluded), wall and
CPU time (CPU time is what to compare when other jobs share the machine), peak RSS of the
process, and, fitted over the object counts, per frame = shared + N x per-object.
The reference is the PyPI `sam2==1.1.0` package in its own venv (tools/parity/setup_refvenv.sh).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools" / "parity"))
FRAMES = REPO.parent / "shared" / "data" / "videos" / "bedroom"


def click_points(num_objects: int) -> list[list[float]]:
    """N well-spread clicks on a 960x540 frame."""
    cols = 4
    return [[120.0 + 240 * (i % cols), 135.0 + 270 * (i // cols % 2) + 30 * (i // (2 * cols))] for i in range(num_objects)]


def worker(side: str, config: str, num_frames: int, num_objects: int, threads: int) -> dict:
    import numpy as np
    import torch

    torch.set_num_threads(threads)
    torch.set_grad_enabled(False)
    paths = sorted(FRAMES.glob("*.jpg"))[:num_frames]
    with tempfile.TemporaryDirectory() as folder:
        if side == "reference":
            from make_video_fixtures import build_reference_video_predictor
            from video_cases import Scenario

            predictor = build_reference_video_predictor(Scenario("bench", config, 1024, "bedroom", num_frames))
            for i, path in enumerate(paths):
                (Path(folder) / f"{i:05d}.jpg").symlink_to(path.resolve())
            video = folder
        else:
            from weights import seeded_state_dict

            import masklet

            model = masklet.build_model(config)
            model.load_state_dict(seeded_state_dict(model.state_dict()))
            predictor = masklet.VideoPredictor(model, fill_hole_area=0)
            video = [str(p) for p in paths]
        start = time.perf_counter()
        state = predictor.init_state(video)
        for obj_id, point in enumerate(click_points(num_objects), start=1):
            predictor.add_new_points_or_box(state, 0, obj_id, points=np.array([point]), labels=np.array([1]))
        prompted, prompted_cpu = time.perf_counter(), time.process_time()
        frames = sum(1 for _ in predictor.propagate_in_video(state))
        done, done_cpu = time.perf_counter(), time.process_time()
    return {
        "side": side, "objects": num_objects, "frames": frames,
        "init_and_prompt_s": prompted - start,
        "s_per_frame": (done - prompted) / frames,
        "cpu_s_per_frame": (done_cpu - prompted_cpu) / frames,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def fit(runs: list[dict], key: str) -> dict:
    """Least-squares per-frame seconds (`key`) = shared + N x per-object over the object counts."""
    import numpy as np

    n = np.array([r["objects"] for r in runs], float)
    t = np.array([r[key] for r in runs], float)
    if len(set(n)) < 2:
        return {}
    per_object, shared = np.polyfit(n, t, 1)
    return {"shared_s": float(shared), "per_object_s": float(per_object)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="sam2.1-hiera-tiny")
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--objects", type=int, nargs="+", default=[1, 3, 8])
    parser.add_argument("--sides", nargs="+", default=["masklet", "reference"], choices=["masklet", "reference"])
    parser.add_argument("--ref-python", default="/tmp/refvenv/bin/python")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--output", type=Path)
    parser.add_argument("--worker", nargs=3, metavar=("SIDE", "FRAMES", "OBJECTS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        side, frames, objects = args.worker
        print(json.dumps(worker(side, args.config, int(frames), int(objects), args.threads)))
        return
    if not FRAMES.is_dir():
        sys.exit(f"benchmark frames not found at {FRAMES} (../shared/data/videos/bedroom)")

    runs = []
    for objects in args.objects:
        for side in args.sides:
            python = args.ref_python if side == "reference" else sys.executable
            env_path = f"{REPO / 'src'}:{REPO / 'tools' / 'parity'}"
            cmd = [python, __file__, "--config", args.config, "--threads", str(args.threads),
                   "--worker", side, str(args.frames), str(objects)]
            out = subprocess.run(cmd, capture_output=True, text=True, env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"})
            if out.returncode:
                sys.exit(f"{side} worker failed:\n{out.stderr[-3000:]}")
            run = json.loads(out.stdout.strip().splitlines()[-1])
            runs.append(run)
            print(f"{side:9s} {objects} obj: {run['s_per_frame']:.2f} s/frame "
                  f"({run['cpu_s_per_frame']:.2f} CPU-s), {run['s_per_frame'] / objects:.2f} s/object-frame, "
                  f"peak RSS {run['peak_rss_mib']:.0f} MiB", flush=True)

    summary = {"config": args.config, "frames": args.frames, "threads": args.threads, "runs": runs}
    for side in args.sides:
        for key, unit in (("s_per_frame", "s"), ("cpu_s_per_frame", "CPU-s")):
            f = fit([r for r in runs if r["side"] == side], key)
            summary[f"{side}_fit_{key}"] = f
            if f:
                print(f"{side}: per frame = {f['shared_s']:.2f} {unit} shared + N x {f['per_object_s']:.2f} {unit} per object")
    if args.output:
        args.output.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
