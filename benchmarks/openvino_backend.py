"""The OpenVINO backend beside torch and ONNX Runtime: image encode ms, ms per object-frame at
full memory, and how far each side's masks are from torch float32's, per model.

Every side runs in this one process with the same number of threads (torch's, onnxruntime's
intra-op pool, OpenVINO's inference threads) on the benchmark's clip (the demo's camera move
over a photo Masklet ships): `masklet.eval.speed.measure_speed` times it; the masks compared
are the image predictor's best mask for a click at the image's centre and the tracked mask of
that click on every frame. The int8 side (`masklet quantize`, with nncf installed) has its image
encoder calibrated on the clip's own frames.

    .venv/bin/python benchmarks/openvino_backend.py --models masklet-nano sam2.1-hiera-tiny --threads 2 \\
        --output benchmarks/results/openvino.json --markdown benchmarks/results/openvino.md
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

import masklet
from masklet.backend.arrays import to_numpy
from masklet.checkpoint import build_model, load_exported_model
from masklet.config import get_config
from masklet.eval.speed import measure_speed, write_frames
from masklet.eval.timing import click_grid
from masklet.export import export_onnx
from masklet.export.openvino_int8 import quantize_export
from masklet.io.image import read_rgb
from masklet.openvino.graphs import cpu_has_native_bfloat16, openvino_core

# (backend, dtype) of every side; torch float32 first: the others' masks are compared with its.
SIDES = (("torch", "float32"), ("onnx", "float32"), ("openvino", "float32"), ("openvino", "bfloat16"), ("openvino", "int8"))


def runs_here(side: tuple[str, str]) -> bool:
    """bfloat16 where the CPU computes it natively; int8 where nncf is installed to quantize."""
    if side == ("openvino", "bfloat16"):
        return cpu_has_native_bfloat16(openvino_core())
    if side == ("openvino", "int8"):
        return importlib.util.find_spec("nncf") is not None
    return True


def torch_model(name: str):
    """The bundled / downloaded weights of `name`, or seeded ones for an official config."""
    if name == "masklet-nano":
        return masklet.load_model(name)
    torch.manual_seed(0)
    return build_model(get_config(name)).eval()


def side_masks(model, image: np.ndarray, frames: list[Path]) -> list[np.ndarray]:
    """[the image predictor's best mask for a centre click, the tracked mask of that click on
    each frame], boolean arrays."""
    predictor = masklet.ImagePredictor(model)
    predictor.set_image(image)
    centre = click_grid(1, image.shape[1], image.shape[0])
    masks, scores, _ = predictor.predict(point_coords=centre, point_labels=[1])
    out = [np.asarray(masks[int(np.argmax(scores))], bool)]
    video = masklet.VideoPredictor(model, fill_hole_area=0, show_progress=False)
    state = video.init_state([str(p) for p in frames])
    width, height = read_rgb(frames[0]).shape[1::-1]
    video.add_new_points_or_box(state, 0, 1, points=click_grid(1, width, height), labels=[1])
    out += [to_numpy(logits)[0, 0] > 0 for _, _, logits in video.propagate_in_video(state)]
    return out


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def run(args: argparse.Namespace) -> list[dict]:
    torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    sides = [s for s in SIDES if runs_here(s)]
    records = []
    with tempfile.TemporaryDirectory(prefix="masklet-openvino-bench-") as tmp:
        frames = write_frames(None, args.frames, Path(tmp) / "frames")
        image = read_rgb(frames[0])
        for name in args.models:
            reference = torch_model(name)
            parameters = sum(p.numel() for p in reference.parameters())
            folder = Path(tmp) / name
            export_onnx(reference, folder, verify=False)
            if ("openvino", "int8") in sides:
                quantize_export(folder, frames[0].parent)
            expected = None
            for backend, dtype in sides:
                model = reference if backend == "torch" else load_exported_model(backend, folder, dtype=dtype, threads=args.threads)
                record = measure_speed(model, name, frames, frames[0], args.objects, args.repeats, side=backend,
                                       parameters=parameters).to_dict()
                masks = side_masks(model, image, frames)
                expected = expected or masks
                ious = [iou(a, b) for a, b in zip(masks, expected)]
                record.update(dtype=dtype, mask_iou_vs_torch_float32={"image": ious[0], "video_mean": float(np.mean(ious[1:])),
                                                                        "video_min": min(ious[1:])})
                print(f"{name} {backend} {dtype}: encode {record['encode_ms']:.0f} ms, object-frame "
                      f"{record['object_frame_ms']:.0f} ms, IoU image {ious[0]:.4f} video min {min(ious[1:]):.4f}", flush=True)
                records.append(record)
    return records


def markdown(records: list[dict], command: str) -> str:
    counts = list(records[0]["frame_ms"])
    lines = [f"`{command}`", "", f"CPU: {cpu_name()}; sides run one after another in one process, threads as in the command. "
             "Object-frame ms is the slope of frame ms over the object counts: on a loaded machine it is noisy (even "
             "negative); read the frame ms beside it.", "",
             "| model | side | dtype | encode ms | " + " | ".join(f"frame ms {n} obj" for n in counts)
             + " | object-frame ms | IoU image | IoU video mean / min |",
             "| --- | --- | --- | ---: | " + "---: | " * len(counts) + "---: | ---: | ---: |"]
    for r in records:
        iou_ = r["mask_iou_vs_torch_float32"]
        frames = " | ".join(f"{r['frame_ms'][n]:.0f}" for n in counts)
        lines.append(f"| {r['model']} | {r['side']} | {r['dtype']} | {r['encode_ms']:.0f} | {frames} | {r['object_frame_ms']:.0f} | "
                     f"{iou_['image']:.4f} | {iou_['video_mean']:.4f} / {iou_['video_min']:.4f} |")
    return "\n".join(lines) + "\n"


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["masklet-nano", "sam2.1-hiera-tiny"],
                        help="masklet-nano (bundled weights) or official configs (seeded weights)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--frames", type=int, default=9, help="frames tracked; from index 7 on the memory is full")
    parser.add_argument("--objects", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", required=True)
    parser.add_argument("--markdown")
    args = parser.parse_args(argv)
    records = run(args)
    command = " ".join(["python", "benchmarks/openvino_backend.py", *argv])
    Path(args.output).write_text(json.dumps({"command": command, "cpu": cpu_name(), "records": records}, indent=2) + "\n")
    if args.markdown:
        Path(args.markdown).write_text(markdown(records, command))


if __name__ == "__main__":
    main(sys.argv[1:])
