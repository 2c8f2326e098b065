"""What the model-running commands share: model options and lookup, image reading, staged outputs."""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from masklet.checkpoint import BACKENDS, EXPORT_BACKENDS
from masklet.checkpoint.loading import PRECISIONS, compute_setting
from masklet.cli.errors import CliError
from masklet.io.image import ImageReadError, read_rgb

EMBEDDED_MODEL = "masklet-nano"
DEVICES = ("cpu", "cuda", "mps")


def add_model_options(parser: argparse.ArgumentParser, backends: bool = False) -> None:
    """--model, --device and --dtype (and --backend for commands that run export folders too)."""
    group = parser.add_argument_group("model")
    group.add_argument("--model", metavar="NAME_OR_PATH",
                       help="official name (see `masklet models`), Meta .pt file or HF safetensors file/folder "
                            "(default: the model bundled with masklet)")
    group.add_argument("--device", choices=DEVICES, default="cpu", help="where to run (default: cpu)")
    group.add_argument("--dtype", choices=PRECISIONS,
                       help="arithmetic: float32 (exact, the reference's), bfloat16, float16 (GPUs), int8 (the image "
                            "encoder's linear layers, on the cpu) or auto, the fastest of them on this machine "
                            "(`masklet info --system` shows which) (default: auto for official model names on the "
                            "cpu, float32 otherwise)")
    if backends:
        group.add_argument("--backend", choices=BACKENDS, default="torch",
                           help="what runs the network: torch, onnx (ONNX Runtime on the cpu) or openvino (OpenVINO on the "
                                "cpu, --dtype float32, bfloat16, or int8 after `masklet quantize`); for onnx and openvino --model is "
                                "a folder written by `masklet export --format onnx` (default: torch)")


def embedded_model_path() -> Path | None:
    """The checkpoint shipped inside the package (masklet/weights/masklet-nano.pt), if any."""
    from masklet.checkpoint.registry import bundled_path

    return bundled_path(EMBEDDED_MODEL)


def check_device(device: str, dtype: str) -> None:
    """Fail with a clear message when the device is missing or cannot run the type."""
    from masklet.errors import OptionError

    try:
        compute_setting(device, dtype)
    except OptionError as e:
        raise CliError(f"--{e}") from None


def model_dtype(args: argparse.Namespace) -> str:
    """--dtype, else its default: auto for an official model name on the cpu (bfloat16 or int8
    where they are faster), float32 for the bundled masklet-nano (a small model that gains
    little), checkpoint files and other devices."""
    from masklet.checkpoint.registry import OFFICIAL_CHECKPOINTS
    from masklet.config import registered_name

    if args.dtype is not None:
        return args.dtype
    official = args.model is not None and registered_name(args.model) in OFFICIAL_CHECKPOINTS
    return "auto" if official and args.device == "cpu" and not Path(args.model).exists() else "float32"


def resolve_model(args: argparse.Namespace):
    """The model of --model (else the embedded default) on --device in --dtype."""
    from masklet.checkpoint import CheckpointError, DownloadError, load_model

    if getattr(args, "backend", "torch") in EXPORT_BACKENDS:
        return _resolve_exported_model(args)
    dtype = model_dtype(args)
    check_device(args.device, dtype)
    source = args.model or embedded_model_path()
    if source is None:
        raise CliError(
            "no --model given and no embedded model is bundled with this masklet yet; "
            "pass --model NAME_OR_PATH (an official name from `masklet models`, or a checkpoint file)"
        )
    try:
        return load_model(source, device=args.device, dtype=dtype, progress=False)
    except (CheckpointError, DownloadError) as e:
        raise CliError(str(e).splitlines()[0]) from None


def _resolve_exported_model(args: argparse.Namespace):
    from masklet.checkpoint import load_model
    from masklet.errors import MaskletError

    if args.model is None:
        raise CliError(
            f"--backend {args.backend} needs --model OUT/, a folder written by `masklet export --format onnx MODEL OUT/`"
        )
    try:
        return load_model(args.model, backend=args.backend, device=args.device, dtype=args.dtype or "float32")
    except ImportError as e:
        raise CliError(str(e)) from None
    except MaskletError as e:
        raise CliError(str(e).splitlines()[0]) from None


def read_image(path: str | Path) -> np.ndarray:
    """An image file as RGB uint8 [H, W, 3]."""
    try:
        return read_rgb(path)
    except ImageReadError as e:
        raise CliError(str(e)) from None


def check_clicks(points, labels, box, width: int, height: int, where: str = "") -> None:
    """Clicks and a box pass the predictors' prompt checks on a width x height frame; run
    before the model loads, so a bad prompt fails at once."""
    from masklet.predict.prompts import user_clicks

    try:
        user_clicks(points or None, labels or None, box, width, height, image_size=1)
    except ValueError as e:
        raise CliError(f"{where}{e}") from None


def check_output_location(path: str | Path, is_folder: bool = False) -> None:
    """Fail early, before any work, when the file (or folder) `path` could not be written:
    its nearest existing ancestor (itself, for a folder) must be a writable folder."""
    path = Path(path)
    if is_folder and path.is_file():
        raise CliError(f"--output {path} is a file; this format writes a folder, give a folder path")
    if not is_folder and path.is_dir():
        raise CliError(f"--output {path} is a folder; this format writes a file, give a file path")
    folder = path.absolute() if is_folder else path.absolute().parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise CliError(f"cannot write {path}: {folder} is a file, not a folder; choose another --output")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CliError(f"cannot write {path}: the folder {folder} is not writable; choose another --output")


@contextlib.contextmanager
def staged_folder(dest: str | Path) -> Iterator[Path]:
    """Yield an empty temporary folder beside `dest`; when the block completes, its files and
    folders are moved into `dest` (created if needed), otherwise it is deleted and `dest` is untouched."""
    from masklet.io.atomic import OutputNotWritableError, ensure_output_dir

    dest = Path(dest)
    check_output_location(dest, is_folder=True)
    try:
        parent = ensure_output_dir(dest.absolute().parent)
        staging = parent / f".{dest.name}.{secrets.token_hex(4)}.partial"
        staging.mkdir()
    except OutputNotWritableError as e:
        raise CliError(str(e)) from None
    except OSError as e:
        raise CliError(f"cannot write into {dest.parent} ({e.strerror or e}); choose another --output") from None
    try:
        yield staging
        dest.mkdir(exist_ok=True)
        for path in sorted(staging.rglob("*")):  # a folder comes before what it holds
            target = dest / path.relative_to(staging)
            if path.is_dir():
                target.mkdir(exist_ok=True)
            else:
                os.replace(path, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
