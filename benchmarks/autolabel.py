"""Throughput of `masklet annotate` / `masklet mine` on each engine, on a fixed small input set.

    .venv/bin/python benchmarks/autolabel.py [--images 24] [--frames 16] [--workers 2] [--output r.json]

Inputs (from ../shared/data, made once into a temporary folder): the first --images COCO_MVal
images in name order with their ground-truth boxes (COCO detection JSON), and the first
--frames frames of the 4 DAVIS sequences at half size (427x240) with the ground-truth box on
every 8th frame (CSV). Each engine runs, on a fresh output folder: annotate images (shards of
4, YOLO-seg), annotate videos (SA-V) and mine videos (keyframes every 8, 8x8 points, the
score thresholds off as the bundled masklet-nano needs). Engines: local with 1 worker (in this
process), local with --workers processes, Ray with --workers CPUs on a local cluster (its
start-up is timed apart and not in the rates). Wall-clock rates include model loading in the
workers; on a shared machine they move with its load.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
SEQUENCES = ("blackswan", "car-shadow", "dog", "motocross-jump")
KEYFRAME_EVERY = 8


def mask_box(mask: np.ndarray) -> list[float]:
    ys, xs = np.nonzero(mask)
    return [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)]


def make_images(folder: Path, count: int) -> Path:
    source = DATA / "images-with-masks" / "COCO_MVal"
    stems = sorted(p.stem for p in (source / "img").glob("*.jpg"))[:count]
    images, annotations = [], []
    (folder / "images").mkdir()
    for number, stem in enumerate(stems, start=1):
        (folder / "images" / f"{stem}.jpg").write_bytes((source / "img" / f"{stem}.jpg").read_bytes())
        gt = np.asarray(Image.open(source / "gt" / f"{stem}.png").convert("L")) > 127
        x1, y1, x2, y2 = mask_box(gt)
        images.append({"id": number, "file_name": f"{stem}.jpg", "height": gt.shape[0], "width": gt.shape[1]})
        annotations.append({"id": number, "image_id": number, "category_id": 1, "bbox": [x1, y1, x2 - x1, y2 - y1]})
    boxes = folder / "image-boxes.json"
    boxes.write_text(json.dumps({"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "object"}]}))
    return boxes


def make_videos(folder: Path, frames: int) -> Path:
    davis = DATA / "davis2016-val"
    rows = []
    for sequence in SEQUENCES:
        (folder / "videos" / sequence).mkdir(parents=True)
        for t in range(frames):
            image = Image.open(davis / "JPEGImages" / "480p" / sequence / f"{t:05d}.jpg").convert("RGB")
            image.resize((427, 240), Image.BILINEAR).save(folder / "videos" / sequence / f"{t:05d}.png")
            if t % KEYFRAME_EVERY == 0:
                label = Image.open(davis / "Annotations" / "480p" / sequence / f"{t:05d}.png").convert("L")
                box = mask_box(np.asarray(label.resize((427, 240), Image.NEAREST)) > 127)
                rows.append(f"{sequence}/{t:05d}.png," + ",".join(f"{v:g}" for v in box) + ",object")
    boxes = folder / "video-boxes.csv"
    boxes.write_text("image,x1,y1,x2,y2,category\n" + "\n".join(rows) + "\n")
    return boxes


def timed(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def bench_engine(name: str, engine, inputs: Path, image_boxes: Path, video_boxes: Path, counts: dict) -> dict:
    import masklet
    from masklet.autolabel import MineOptions

    out = inputs / f"out-{name}"
    mining = MineOptions(keyframe_every=KEYFRAME_EVERY, points_per_side=8, pred_iou_thresh=0.0,
                         stability_score_thresh=0.0, min_mean_stability=0.0)
    seconds = {
        "annotate_images": timed(lambda: masklet.annotate(inputs / "images", image_boxes, output=out / "images",
                                                          shard_size=4, engine=engine, progress=False)),
        "annotate_videos": timed(lambda: masklet.annotate(inputs / "videos", video_boxes, output=out / "videos",
                                                          engine=engine, progress=False)),
        "mine_videos": timed(lambda: masklet.mine(inputs / "videos", output=out / "mined", options=mining,
                                                  engine=engine, progress=False)),
    }
    row = {
        "engine": name,
        "annotate images/s": counts["images"] / seconds["annotate_images"],
        "annotate video frames/s": counts["frames"] / seconds["annotate_videos"],
        "mine video frames/s": counts["frames"] / seconds["mine_videos"],
        "seconds": seconds,
    }
    print(f"{name:<16} {row['annotate images/s']:8.2f} {row['annotate video frames/s']:12.2f} "
          f"{row['mine video frames/s']:10.2f}", flush=True)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=24, help="COCO_MVal images (default: 24)")
    parser.add_argument("--frames", type=int, default=16, help="frames of each DAVIS sequence (default: 16)")
    parser.add_argument("--workers", type=int, default=2, help="processes / Ray CPUs (default: 2)")
    parser.add_argument("--output", help="write the results as JSON here")
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"needs the shared data at {DATA}", file=sys.stderr)
        return 2
    import ray

    from masklet.autolabel import LocalEngine, RayEngine

    results = {"images": args.images, "frames": args.frames * len(SEQUENCES), "workers": args.workers, "rows": []}
    with tempfile.TemporaryDirectory(prefix="masklet-autolabel-bench-") as tmp:
        inputs = Path(tmp)
        image_boxes, video_boxes = make_images(inputs, args.images), make_videos(inputs, args.frames)
        counts = {"images": args.images, "frames": args.frames * len(SEQUENCES)}
        print(f"{args.images} images; {len(SEQUENCES)} videos x {args.frames} frames at 427x240")
        print(f"{'engine':<16} {'images/s':>8} {'ann. frames/s':>12} {'mine fr./s':>10}")
        results["rows"].append(bench_engine("local x1", LocalEngine(1), inputs, image_boxes, video_boxes, counts))
        with LocalEngine(args.workers) as engine:  # its processes stay up for the three runs, as Ray's do
            results["rows"].append(bench_engine(f"local x{args.workers}", engine, inputs, image_boxes, video_boxes,
                                                counts))
        start = time.perf_counter()
        ray.init(num_cpus=args.workers, include_dashboard=False, _node_ip_address="127.0.0.1",
                 object_store_memory=128 * 1024**2, log_to_driver=False)
        results["ray_start_seconds"] = time.perf_counter() - start
        try:
            results["rows"].append(bench_engine(f"ray x{args.workers}", RayEngine(), inputs, image_boxes,
                                                video_boxes, counts))
        finally:
            ray.shutdown()
        print(f"(Ray local cluster start-up: {results['ray_start_seconds']:.1f} s, not in the rates)")
    if args.output:
        Path(args.output).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
