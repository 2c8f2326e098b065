"""How fast a model runs: image encode, decode per prompt, and tracking at full memory.

`measure_speed` times one model in this process. `run_benchmark` (behind `masklet benchmark`)
runs it in a fresh process per model and side (a dtype, and with `fast` every fast setting of
the machine: `masklet.eval.sides`), so peak memory is that run's own, and Meta's reference
beside it through `reference_speed.py`, a script run by the reference's own Python on the
same official-format checkpoint, image and JPEG frames.

Measured, on the given device and dtype:
  encode_ms   `set_image` on the image (resize, normalise, image encoder), median of repeats;
  decode_ms   `predict` with one click on that image (prompt encoder + mask decoder), median;
  frame_ms    per frame of `propagate_in_video` with N objects clicked on frame 0, averaged
              over the frames at full memory (index >= num_maskmem: the bank holds its
              conditioning frame and num_maskmem - 1 tracked frames);
  peak_mib    the process's peak resident memory (CPU) or peak allocated GPU memory.
Derived (`SpeedRecord`): frames/s per object count, ms per object-frame (the slope of frame_ms
over the object counts: what one more object costs) and the shared per-frame cost. Each
Masklet side also writes its masks (the click's candidates on the image, every frame of the
smallest object count's tracking), and its record carries `mask_iou_vs_float32`: the lowest
IoU of those masks with the float32 side's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from masklet.errors import MaskletError
from masklet.eval.sides import BASELINE, Side, benchmark_sides
from masklet.eval.timing import (
    SpeedRecord,
    click_grid,
    full_memory_frame_ms,
    median_ms,
    peak_memory_mib,
)


def measure_speed(model, model_name: str, frames: list[Path], image: Path, objects: list[int], repeats: int,
                  side: str = "masklet", parameters: int | None = None, masks_file: Path | None = None,
                  memory: str = "exact") -> SpeedRecord:
    """Time a Masklet model (on its device, in its dtype) on an image and a clip of frames,
    tracking with memory preset `memory`.

    `parameters` defaults to the model's own count (an ONNX Runtime model has no torch
    parameters, an int8 one fewer: pass the count of the model it was made from). With
    `masks_file`, the masks it predicted are saved there (`save_masks`)."""
    import torch

    from masklet.io.image import read_rgb
    from masklet.predict.image import ImagePredictor
    from masklet.predict.video import VideoPredictor

    device = str(model.device)  # the ONNX backend's device is the string "cpu"
    synchronize = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    pixels = read_rgb(image)
    predictor = ImagePredictor(model)
    encode_ms = median_ms(lambda: predictor.set_image(pixels), repeats, synchronize)
    click = dict(point_coords=np.array([[pixels.shape[1] / 2, pixels.shape[0] / 2]]), point_labels=np.array([1]))
    decode_ms = median_ms(lambda: predictor.predict(**click), 5 * repeats, synchronize)
    image_masks = predictor.predict(**click)[0]  # [3, H, W]: the click's candidates

    video = VideoPredictor(model, fill_hole_area=0, show_progress=False, memory=memory)
    height, width = read_rgb(frames[0]).shape[:2]
    frame_ms, tracked = {}, []  # tracked: the FrameResults of the first object count
    for count in objects:
        state = video.init_state([str(p) for p in frames])
        for obj_id, point in enumerate(click_grid(count, width, height), start=1):
            video.add_new_points_or_box(state, 0, obj_id, points=[point], labels=[1])
        results = video.propagate(state)
        if count == objects[0]:
            results = kept(results, tracked)
        frame_ms[count] = full_memory_frame_ms(results, model.config.num_maskmem, synchronize)
    if masks_file is not None:
        save_masks(masks_file, image_masks, np.stack([r.masks for r in tracked]))
    if parameters is None:
        parameters = sum(p.numel() for p in model.parameters())
    dtype = getattr(model, "precision", model.arrays.dtype_name)  # int8 models say so; ONNX ones have arrays only
    return SpeedRecord(side, model_name, dtype, device, parameters, encode_ms, decode_ms, frame_ms,
                       peak_memory_mib(device))


def kept(results, into: list):
    """`results` passed through, each also appended to `into`."""
    for result in results:
        into.append(result)
        yield result


def save_masks(path: Path, image_masks: np.ndarray, video_masks: np.ndarray) -> None:
    """image_masks [candidates, H, W] and video_masks [frames, objects, H', W'], bool, as an npz."""
    np.savez_compressed(path, image=image_masks.astype(bool), video=video_masks.astype(bool))


def worst_mask_iou(masks_file: Path, baseline_file: Path) -> float:
    """The lowest IoU between the masks of `masks_file` and the corresponding ones of
    `baseline_file` (two `save_masks` files of one model, image and frames); two empty masks
    agree (IoU 1)."""
    with np.load(masks_file) as ours, np.load(baseline_file) as theirs:
        pairs = [(ours[k], theirs[k]) for k in ("image", "video")]
    worst = 1.0
    for a, b in pairs:
        if a.shape != b.shape:
            raise BenchmarkError(f"masks of shape {a.shape} cannot be compared with the float32 side's {b.shape}")
        a, b = a.reshape(-1, a.shape[-2] * a.shape[-1]), b.reshape(-1, b.shape[-2] * b.shape[-1])
        union = (a | b).sum(1)
        ious = np.where(union > 0, (a & b).sum(1) / np.maximum(union, 1), 1.0)
        worst = min(worst, float(ious.min(initial=1.0)))
    return worst


@dataclass(frozen=True)
class BenchmarkPlan:
    """What `run_benchmark` measures."""

    models: tuple[str, ...]  # names or checkpoint paths
    dtypes: tuple[str, ...] = ("float32",)  # Masklet's, and the reference's (but int8: it has none)
    fast: bool = False  # also every fast setting of this machine (`masklet.eval.sides.fast_sides`)
    device: str = "cpu"
    seeded: bool = False  # random weights of the named configs instead of their checkpoints
    video: str | None = None  # a video file or frame folder; None: the demo's camera move over a photo
    image: str | None = None  # None: the first frame
    frames: int = 10
    objects: tuple[int, ...] = (1, 3, 8)
    repeats: int = 3
    threads: int | None = None
    reference_python: str | None = None  # run Meta's reference with this interpreter too
    onnx: bool = False  # also export each model to ONNX and time it on ONNX Runtime (CPU, float32)


MASKLET_WORKER = [sys.executable, "-m", "masklet.eval.speed"]  # + JOB.json: one measuring process


class BenchmarkError(MaskletError, RuntimeError):
    """A benchmark run could not be set up or one of its measurements failed."""


def run_benchmark(plan: BenchmarkPlan, log=print) -> list[SpeedRecord]:
    """Measure every model on every side (and the reference beside each of `plan.dtypes`, when
    asked); then ONNX Runtime, with `plan.onnx`."""
    sides = benchmark_sides(plan.dtypes, plan.fast, plan.device)
    records = []
    with tempfile.TemporaryDirectory(prefix="masklet-bench-") as tmp:
        folder = Path(tmp)
        frames = write_frames(plan.video, plan.frames, folder / "frames")
        inputs = {  # what every worker times, whatever the model and side
            "image": plan.image or str(frames[0]), "frames": [str(f) for f in frames], "objects": list(plan.objects),
            "repeats": plan.repeats, "threads": plan.threads,
        }
        for name in plan.models:
            config_name, checkpoints, parameters = write_checkpoints(
                name, plan.seeded, [side.checkpoint_dtype for side in sides], folder / "weights")
            job = {**inputs, "model": config_name, "device": plan.device, "parameters": parameters}
            masks = {}  # side -> its masks file
            exports = ExportFolder(checkpoints["float32"], config_name, plan.device, folder)
            for side in sides:
                checkpoint = exports.path(int8_calibration=frames[0].parent if side.dtype == "int8" else None) \
                    if side.exported else checkpoints[side.checkpoint_dtype]
                masks[side] = folder / f"{config_name}-{len(masks)}-masks.npz"
                records.append(timed_side(side, {**job, "checkpoint": str(checkpoint)}, masks, folder,
                                          weights_bytes(checkpoint), log))
                if plan.reference_python is not None and side == Side(dtype=side.dtype) and side.dtype in plan.dtypes \
                        and side.dtype != "int8":
                    reference = time_reference(plan.reference_python, config_name, checkpoints["float32"],
                                               {**inputs, "device": plan.device, "dtype": side.dtype}, folder, log)
                    records += [reference] if reference is not None else []
            if plan.onnx:
                onnx = Side(backend="onnx")
                masks[onnx] = folder / f"{config_name}-onnx-masks.npz"
                records.append(timed_side(onnx, {**job, "checkpoint": str(exports.path())}, masks, folder,
                                          weights_bytes(exports.path()), log))
    return records


def timed_side(side: Side, job: dict, masks: dict[Side, Path], folder: Path, weights_bytes: int, log) -> SpeedRecord:
    """One Masklet side's record: timed by a worker on `job`, its masks compared with the
    float32 side's (when that side ran first: `masks[BASELINE]`)."""
    job = {**job, "dtype": side.dtype, "side": side.settings(), "masks": str(masks[side])}
    record = run_worker(MASKLET_WORKER, job, folder)
    record.weights_mb = weights_bytes / 2**20
    record.settings = side.settings()
    if BASELINE in masks:
        record.mask_iou_vs_float32 = worst_mask_iou(masks[side], masks[BASELINE])
    log(one_line(record))
    return record


def time_reference(python: str, config_name: str, checkpoint: Path, job: dict, folder: Path, log) -> SpeedRecord | None:
    """Meta's reference timed by its own Python on the float32 checkpoint (None, logged, for a
    config the reference does not have)."""
    from masklet.checkpoint.registry import OFFICIAL_CHECKPOINTS

    official = OFFICIAL_CHECKPOINTS.get(config_name)
    if official is None:
        log(f"reference: skipped for {config_name} (not an official config)")
        return None
    job = {**job, "model": config_name, "checkpoint": str(checkpoint), "reference_config": official.reference_config}
    record = run_worker([python, str(Path(__file__).with_name("reference_speed.py"))], job, folder)
    record.weights_mb = checkpoint.stat().st_size / 2**20
    record.settings = {"dtype": job["dtype"]}
    log(one_line(record))
    return record


class ExportFolder:
    """A model's float32 checkpoint exported to ONNX graphs once, on first use, for the sides
    of the export backends (ONNX Runtime, OpenVINO); its image encoder quantized for OpenVINO's
    int8 side once, when that side first asks."""

    def __init__(self, checkpoint: Path, model_name: str, device: str, folder: Path) -> None:
        self.checkpoint, self.model_name, self.device = checkpoint, model_name, device
        self.folder = folder / f"{model_name}-onnx"

    def path(self, int8_calibration: Path | None = None) -> Path:
        """The export folder; with `int8_calibration` (frames), also quantized (`masklet quantize`)."""
        from masklet.checkpoint import load_model
        from masklet.export import ExportError, export_onnx
        from masklet.export.openvino_int8 import INT8_SUFFIX, quantize_export

        if self.device != "cpu":
            raise BenchmarkError(f"the export backends run on the cpu only, not {self.device}; drop --onnx")
        if not self.folder.is_dir():
            try:
                export_onnx(load_model(self.checkpoint, progress=False), self.folder, verify=False)
            except ExportError as e:
                raise BenchmarkError(f"{self.model_name} cannot be exported for the export backends: {e}") from None
        if int8_calibration is not None and not any(self.folder.glob(f"*{INT8_SUFFIX}")):
            quantize_export(self.folder, int8_calibration)
        return self.folder


def weights_bytes(path: Path) -> int:
    """Size of a checkpoint file, or of the files of an export folder."""
    return sum(f.stat().st_size for f in path.iterdir()) if path.is_dir() else path.stat().st_size


def write_frames(video: str | None, count: int, folder: Path) -> list[Path]:
    """The first `count` frames as JPEGs 00000.jpg, ... (what both sides read)."""
    from PIL import Image

    if video is None:
        from masklet.demo_clips import photo_clip

        arrays = photo_clip(count).frames
    else:
        from masklet.io.video import VideoReadError, open_video

        try:
            with open_video(video) as source:
                arrays = [source[i] for i in range(min(count, len(source)))]
        except (VideoReadError, ValueError) as e:
            raise BenchmarkError(f"cannot read frames from {video}: {e}") from None
    if len(arrays) < count:
        raise BenchmarkError(f"{video} has {len(arrays)} frames; the benchmark needs {count}")
    folder.mkdir(parents=True)
    paths = [folder / f"{i:05d}.jpg" for i in range(count)]
    for array, path in zip(arrays, paths):
        Image.fromarray(array).save(path, quality=95)
    return paths


def write_checkpoints(name: str, seeded: bool, dtypes, folder: Path) -> tuple[str, dict[str, Path], int]:
    """(config name, {dtype: Meta-format checkpoint}, parameter count) of a model name or path,
    float32 always included (the reference reads it)."""
    import torch

    from masklet.checkpoint import build_model, load_model
    from masklet.checkpoint.formats import write_meta
    from masklet.config import get_config

    if seeded:
        torch.manual_seed(0)
        model = build_model(get_config(name))
    else:
        model = load_model(name, progress=True)
    folder.mkdir(parents=True, exist_ok=True)
    weights = model.state_dict()
    paths = {}
    for dtype in dict.fromkeys(["float32", *dtypes]):
        converted = {k: v.to(getattr(torch, dtype)) for k, v in weights.items()}
        paths[dtype] = write_meta(folder / f"{model.config.name}-{dtype}.pt", converted, model.config)
    return model.config.name, paths, sum(p.numel() for p in model.parameters())


def run_worker(command: list[str], job: dict, folder: Path) -> SpeedRecord:
    """Run one measuring process on `job` and read back its record."""
    job_file = folder / "job.json"
    job_file.write_text(json.dumps(job))
    proc = subprocess.run([*command, str(job_file)], capture_output=True, text=True)
    if proc.returncode:
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise BenchmarkError(f"{job['model']} {job['dtype']} ({Path(command[-1]).name}) failed: {last}")
    return SpeedRecord.from_dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def one_line(record: SpeedRecord) -> str:
    frames = ", ".join(f"{n} obj {ms:.0f} ms" for n, ms in record.frame_ms.items())
    iou = "" if record.mask_iou_vs_float32 is None else f", mask IoU vs float32 {record.mask_iou_vs_float32:.4f}"
    return (f"{record.side} {record.model} {record.dtype}: encode {record.encode_ms:.0f} ms, "
            f"decode {record.decode_ms:.1f} ms, per frame {frames}, peak {record.peak_mib:.0f} MiB{iou}")


def speed_table(records: list[SpeedRecord]) -> str:
    """A markdown table of the records, then the reference / Masklet ratios of each Masklet
    side: against the reference in the same dtype, else (int8, other backends) in float32."""
    counts = sorted({n for r in records for n in r.frame_ms})
    head = ["model", "dtype", "side", "params (M)", "weights (MB)", "encode ms", "decode ms", "object-frame ms",
            *(f"fps {n} obj" for n in counts), "peak MiB", "mask IoU vs float32"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in records:
        fit = r.object_frame_fit()
        cells = [r.model, r.dtype, r.side, f"{r.parameters / 1e6:.1f}", f"{r.weights_mb:.0f}", f"{r.encode_ms:.0f}",
                 f"{r.decode_ms:.1f}", "-" if fit is None else f"{fit[0]:.0f}",
                 *(f"{r.frames_per_second[n]:.2f}" if n in r.frame_ms else "-" for n in counts), f"{r.peak_mib:.0f}",
                 "-" if r.mask_iou_vs_float32 is None else f"{r.mask_iou_vs_float32:.4f}"]
        lines.append("| " + " | ".join(cells) + " |")
    references = {(r.model, r.dtype): r for r in records if r.side == "reference"}
    for ours in (r for r in records if r.side != "reference"):
        theirs = references.get((ours.model, ours.dtype)) or references.get((ours.model, "float32"))
        if theirs is not None:
            lines.append("")
            lines.append(f"{ours.model} {ours.dtype} ({ours.side}): reference {theirs.dtype} / Masklet time: "
                         + ratio_summary(theirs, ours))
    return "\n".join(lines)


def ratio_summary(reference: SpeedRecord, masklet: SpeedRecord) -> str:
    parts = [f"encode {reference.encode_ms / masklet.encode_ms:.2f}x", f"decode {reference.decode_ms / masklet.decode_ms:.2f}x"]
    parts += [f"frame ({n} obj) {reference.frame_ms[n] / masklet.frame_ms[n]:.2f}x"
              for n in masklet.frame_ms if n in reference.frame_ms]
    fits = reference.object_frame_fit(), masklet.object_frame_fit()
    if None not in fits:
        parts.append(f"object-frame {fits[0][0] / fits[1][0]:.2f}x")
    return ", ".join(parts)


def worker_main(argv: list[str]) -> None:
    """`python -m masklet.eval.speed JOB.json`: measure one model and print its record as JSON."""
    import torch

    from masklet.checkpoint import load_model

    job = json.loads(Path(argv[0]).read_text())
    if job.get("threads"):
        torch.set_num_threads(job["threads"])
    torch.set_grad_enabled(False)
    side = Side(**job["side"])
    model = load_model(job["checkpoint"], device=job["device"], dtype=side.dtype, progress=False, backend=side.backend)
    frames = [Path(p) for p in job["frames"]]
    record = measure_speed(model, job["model"], frames, Path(job["image"]), job["objects"], job["repeats"],
                           side=side.name, parameters=job.get("parameters"), masks_file=Path(job["masks"]),
                           memory=side.memory)
    print(json.dumps(record.to_dict()))


if __name__ == "__main__":
    worker_main(sys.argv[1:])
