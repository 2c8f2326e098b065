"""`masklet models`, `download`, `convert`, `average` and `info`: the checkpoints behind the commands."""

from __future__ import annotations

import argparse
import contextlib
import textwrap
from collections.abc import Iterator
from pathlib import Path

import torch

from masklet.checkpoint.loading import DTYPES
from masklet.cli.errors import CliError

CHECKPOINT_FORMATS = ("meta", "hf")


def register(subparsers) -> None:
    models = subparsers.add_parser(
        "models", help="list the official models, their sizes and whether they are cached",
        description="List the official SAM 2 / 2.1 checkpoints: parameter count, download size and whether "
        "the file is in the cache ($MASKLET_HOME/checkpoints, default ~/.cache/masklet/checkpoints).",
        epilog="example: masklet models",
    )
    models.set_defaults(func=run_models)

    download = subparsers.add_parser(
        "download", help="download an official checkpoint into the cache",
        description="Download an official checkpoint into $MASKLET_HOME/checkpoints (see `masklet models`).",
        epilog="example: masklet download sam2.1-hiera-tiny",
    )
    download.add_argument("name", metavar="NAME", help="official model name")
    download.set_defaults(func=run_download)

    convert = subparsers.add_parser(
        "convert", help="convert a checkpoint between Meta .pt and Hugging Face formats",
        description="Convert a checkpoint. meta: Meta's .pt file; hf: a Hugging Face transformers folder "
        "(config.json + model.safetensors). The output format is --to, else meta for an OUT ending in .pt "
        "and hf otherwise.",
        epilog="example: masklet convert sam2.1_hiera_tiny.pt sam2.1-hiera-tiny-hf/",
    )
    convert.add_argument("source", metavar="IN", help="official name, Meta .pt file or HF safetensors file/folder")
    convert.add_argument("dest", metavar="OUT", help="output .pt file (meta) or folder (hf)")
    convert.add_argument("--to", choices=CHECKPOINT_FORMATS, help="output format (default: from OUT's name)")
    convert.add_argument("--dtype", choices=sorted(DTYPES), default="float32",
                         help="type of the written weights (default: float32)")
    convert.set_defaults(func=run_convert)

    average = subparsers.add_parser(
        "average", help="average the weights of several checkpoints of one model config",
        description=textwrap.fill("Write one checkpoint whose weights are the mean of the given checkpoints' (checkpoint "
        "averaging: e.g. the model.pt files a training run wrote over its last steps), or their weighted mean "
        "(--weights: a weight soup of a fine-tuned model and its start). --keep-from-first copies the named "
        "parts from the first checkpoint instead. All must share one model config."),
        epilog="examples: masklet average run/snap/model-*.pt --output averaged.pt --dtype float16\n"
        "  masklet average start.pt tuned.pt --weights 0.3 0.7 --output soup.pt\n"
        "  masklet average start.pt tuned.pt --weights 0 1 --keep-from-first memory_encoder memory_attention "
        "--output grafted.pt",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    average.add_argument("sources", metavar="CKPT", nargs="+", help="Meta .pt files or HF safetensors files/folders")
    average.add_argument("--output", "-o", required=True, metavar="OUT", help="the averaged Meta .pt file")
    average.add_argument("--dtype", choices=sorted(DTYPES), default="float32",
                         help="type of the written weights (default: float32)")
    average.add_argument("--weights", type=float, nargs="+", metavar="W",
                         help="one weight per checkpoint, non-negative, summing to 1 (default: equal)")
    average.add_argument("--keep-from-first", nargs="+", default=[], metavar="PREFIX",
                         help="parameter-name prefixes copied from the first checkpoint, not averaged "
                         "(e.g. memory_encoder)")
    average.set_defaults(func=run_average)

    info = subparsers.add_parser(
        "info", help="describe a checkpoint (format, config, version, parameters) or this machine (--system)",
        description="Print a checkpoint's format, model config, SAM version, parameter count and weight types; "
        "with --system, this machine's arithmetic (torch, CPU instruction sets, bfloat16 and int8 support) and "
        "the setting --dtype auto picks.",
        epilog="examples: masklet info sam2.1_hiera_tiny.pt; masklet info --system",
    )
    info.add_argument("checkpoint", metavar="CKPT", nargs="?", help="Meta .pt file or HF safetensors file/folder")
    info.add_argument("--system", action="store_true", help="describe this machine and what --dtype auto picks")
    info.set_defaults(func=run_info)


@contextlib.contextmanager
def parameters_on_meta_device() -> Iterator[None]:
    """Modules built inside this block put their parameters on the meta device (no memory)."""
    register = torch.nn.Module.register_parameter

    def register_on_meta(module, name, param):
        register(module, name, param)
        if param is not None:
            module._parameters[name] = torch.nn.Parameter(param.to("meta"), requires_grad=param.requires_grad)

    torch.nn.Module.register_parameter = register_on_meta
    try:
        yield
    finally:
        torch.nn.Module.register_parameter = register


def parameter_count(config) -> int:
    """Parameters of the model of `config` (a SAM2Config or a registered name), counted
    without allocating its weights."""
    from masklet.config import get_config
    from masklet.model.sam2 import SAM2Model

    with parameters_on_meta_device():
        model = SAM2Model(get_config(config) if isinstance(config, str) else config)
    return sum(p.numel() for p in model.parameters())


def run_models(args: argparse.Namespace) -> int:
    from masklet.checkpoint.registry import (
        BUNDLED_MODELS,
        OFFICIAL_CHECKPOINTS,
        bundled_path,
        cached_path,
        masklet_home,
    )

    print(f"{'name':<24}{'parameters':>12}{'download':>10}  cached")
    for name in BUNDLED_MODELS:
        path = bundled_path(name)
        size = f"{path.stat().st_size / 2**20:>7.0f} MB" if path else f"{'-':>10}"
        print(f"{name:<24}{parameter_count(name) / 1e6:>11.1f}M{size}  {'bundled' if path else 'not bundled'}")
    for name, checkpoint in OFFICIAL_CHECKPOINTS.items():
        cached = "yes" if cached_path(name).is_file() else "no"
        print(f"{name:<24}{parameter_count(name) / 1e6:>11.1f}M{checkpoint.size_mb:>7} MB  {cached}")
    print(f"cache: {masklet_home() / 'checkpoints'}")
    return 0


def run_download(args: argparse.Namespace) -> int:
    from masklet.checkpoint import DownloadError, download
    from masklet.checkpoint.registry import OFFICIAL_CHECKPOINTS

    if args.name not in OFFICIAL_CHECKPOINTS:
        raise CliError(f"no official model named {args.name!r}; known: {', '.join(OFFICIAL_CHECKPOINTS)}")
    try:
        path = download(args.name)
    except DownloadError as e:
        raise CliError(str(e)) from None
    except OSError as e:
        raise CliError(f"cannot write into the cache ({e}); set MASKLET_HOME to a writable folder") from None
    print(f"{args.name}: {path}")
    return 0


def write_checkpoint(model, dest: Path, target: str) -> None:
    """save_model, with an unwritable destination reported as a CLI error."""
    from masklet.checkpoint import save_model

    try:
        save_model(model, dest, format=target)
    except OSError as e:
        raise CliError(f"cannot write {dest} ({e.strerror or e}); choose another output path") from None


def run_convert(args: argparse.Namespace) -> int:
    from masklet.checkpoint import CheckpointError, DownloadError, load_model

    dest = Path(args.dest)
    target = args.to or ("meta" if dest.suffix == ".pt" else "hf")
    if target == "meta" and dest.is_dir():
        raise CliError(f"{dest} is a folder; a Meta checkpoint is one .pt file, give its path")
    if target == "hf" and dest.is_file():
        raise CliError(f"{dest} is a file; an HF checkpoint is a folder, give a folder path")
    try:
        model = load_model(args.source, progress=False)
    except (CheckpointError, DownloadError) as e:
        raise CliError(str(e).splitlines()[0]) from None
    # Stored, not computed, in that dtype: float16 weights are written on any device.
    write_checkpoint(model.to(DTYPES[args.dtype]), dest, target)
    print(f"wrote {dest} ({target} format, config {model.config.name}, {args.dtype})")
    return 0


def run_average(args: argparse.Namespace) -> int:
    from masklet.checkpoint import CheckpointError, DownloadError, average_models

    dest = Path(args.output)
    if dest.is_dir():
        raise CliError(f"{dest} is a folder; give the path of the .pt file to write")
    try:
        model = average_models(args.sources, args.weights, tuple(args.keep_from_first), progress=False)
    except (CheckpointError, DownloadError, ValueError) as e:
        raise CliError(str(e).splitlines()[0]) from None
    write_checkpoint(model.to(DTYPES[args.dtype]), dest, "meta")
    mean = "the mean" if args.weights is None else f"the mean weighted {' '.join(f'{w:g}' for w in args.weights)}"
    kept = f", {' '.join(args.keep_from_first)} from the first" if args.keep_from_first else ""
    print(f"wrote {dest}: {mean} of {len(args.sources)} checkpoints{kept} (config {model.config.name}, {args.dtype})")
    return 0


def run_info(args: argparse.Namespace) -> int:
    from masklet.checkpoint.compute import system_report

    if args.checkpoint is None and not args.system:
        raise CliError("give a checkpoint to describe, or --system to describe this machine")
    if args.system:
        print("\n".join(system_report()))
    if args.checkpoint is not None:
        describe_checkpoint(args.checkpoint)
    return 0


def describe_checkpoint(path: str) -> None:
    from masklet.checkpoint import CheckpointError
    from masklet.checkpoint.formats import (
        describe_state_dict,
        detect_config,
        read_checkpoint,
    )

    try:
        checkpoint = read_checkpoint(path)
        facts = describe_state_dict(checkpoint.state_dict)
        config = checkpoint.config or detect_config(checkpoint.state_dict)
    except CheckpointError as e:
        raise CliError(str(e).splitlines()[0]) from None
    dtypes = sorted({str(t.dtype).removeprefix("torch.") for t in checkpoint.state_dict.values()})
    print(f"file        {checkpoint.path}")
    print(f"format      {checkpoint.format}")
    print(f"config      {config.name}" + ("" if checkpoint.config else " (recognised from the weights)"))
    print(f"version     SAM {facts['version']}")
    print(f"image size  {config.image_size}")
    print(f"parameters  {parameter_count(config):,}")
    print(f"tensors     {len(checkpoint.state_dict)}")
    print(f"dtypes      {', '.join(dtypes)}")
