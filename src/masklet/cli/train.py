"""`masklet train` and `masklet finetune`: train a model from a YAML config, or fine-tune a
checkpoint on dataset folders. Both write the same resumable run folder (see
masklet.train.trainer): checkpoint.pt, model.pt, metrics.csv, loss.png; fine-tuning adds
finetune.yaml, its resolved config, which `masklet train` continues."""

from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path

from masklet.cli.common import check_device, check_output_location, embedded_model_path
from masklet.cli.errors import CliError

DEVICES = ("cpu", "cuda")
FINETUNE_CONFIG = "finetune.yaml"
DEFAULT_EPOCHS = 10
LOSS_TERMS = ("total", "focal", "dice", "iou", "score")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 1")
    return value


def _number_at_least(minimum: float, inclusive: bool, what: str):
    """An argparse type: a float above (or, inclusive, at least) `minimum`."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (value >= minimum if inclusive else value > minimum):
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        return value

    return parse


positive_float = _number_at_least(0, False, "a number > 0")
minutes = _number_at_least(0, True, "a number of minutes >= 0")


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    """What `train` and `finetune` share: time limit, resuming, threads, progress bar."""
    parser.add_argument("--max-minutes", type=minutes, metavar="M",
                        help="stop at the first checkpoint after M minutes; run the same command again to continue")
    parser.add_argument("--no-resume", action="store_true",
                        help="start over even if the output folder holds a checkpoint (it is overwritten)")
    parser.add_argument("--threads", type=positive_int, metavar="N", help="CPU threads for torch (default: torch's)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar (the start and end lines still print)")


def register(subparsers) -> None:
    train = subparsers.add_parser(
        "train", help="train a model from a YAML config (resumable run folder)",
        description="Train the model of CONFIG.yaml (keys: see configs/train/masklet-nano.yaml) on its data. "
        "Options given here replace the file's values. The output folder receives, at every checkpoint, "
        "checkpoint.pt (to resume), model.pt (Meta-format weights for every masklet command), metrics.csv and "
        "loss.png. If it already holds a checkpoint of the same model, training resumes from it: run the "
        "same command again (with a larger --steps to train longer) to continue an interrupted run.",
        epilog="example: masklet train configs/train/masklet-nano.yaml --steps 2000 --max-minutes 60",
    )
    train.add_argument("config", metavar="CONFIG.yaml", help="training config (YAML)")
    train.add_argument("--output", metavar="DIR", help="run folder (default: the config's output)")
    train.add_argument("--steps", type=positive_int, metavar="N", help="total steps (default: the config's steps)")
    train.add_argument("--device", choices=DEVICES, help="where to train (default: the config's device)")
    _add_run_options(train)
    train.set_defaults(func=run_train)

    finetune = subparsers.add_parser(
        "finetune", help="fine-tune a checkpoint on your image or video datasets",
        description="Fine-tune a SAM 2 checkpoint on one or more datasets, whose layout is detected: DAVIS, "
        "YouTube-VOS, SA-V, image+mask folders (img/ + gt/, or images/ + masks/) or a COCO instance JSON. "
        "Still images become moving pseudo-video clips when --frames > 1. Defaults suit small datasets: "
        "learning rate 5e-5 with a 5% warm-up then cosine decay, gradient clipping at 1.0, the image encoder "
        "frozen (--train-image-encoder trains it too, with layer-wise lr decay 0.9). Writes the run folder of "
        "`masklet train` plus finetune.yaml, the full config: `masklet train OUTPUT/finetune.yaml --steps N` "
        "continues the run; running the same finetune command again resumes it.",
        epilog="example: masklet finetune --model sam2.1-hiera-tiny --data my_images/ --output runs/mine --epochs 20",
    )
    finetune.add_argument("--model", metavar="NAME_OR_PATH",
                          help="checkpoint to start from: official name (see `masklet models`) or Meta .pt / HF "
                               "safetensors file or folder (default: the model bundled with masklet)")
    finetune.add_argument("--data", action="append", required=True, metavar="DIR",
                          help="dataset folder or COCO .json, repeatable (sampled in proportion to their sizes)")
    finetune.add_argument("--output", required=True, metavar="DIR", help="run folder")
    length = finetune.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=positive_float, metavar="E",
                        help=f"passes over the data's images/videos (default: {DEFAULT_EPOCHS})")
    length.add_argument("--steps", type=positive_int, metavar="N", help="training steps (instead of --epochs)")
    finetune.add_argument("--batch-size", type=positive_int, default=4, metavar="B", help="clips per step (default: 4)")
    finetune.add_argument("--frames", type=positive_int, default=4, metavar="T",
                          help="frames per clip (default: 4; 1 trains on single frames)")
    finetune.add_argument("--lr", type=positive_float, default=5e-5, help="peak learning rate (default: 5e-5)")
    encoder = finetune.add_mutually_exclusive_group()
    encoder.add_argument("--freeze-image-encoder", dest="freeze_encoder", action="store_true", default=True,
                         help="keep the image encoder's weights (the default: right for small datasets)")
    encoder.add_argument("--train-image-encoder", dest="freeze_encoder", action="store_false",
                         help="train the image encoder too (for thousands of samples or more)")
    finetune.add_argument("--pseudo-video", action=argparse.BooleanOptionalAction,
                          help="turn still images into moving clips (default: when --frames > 1)")
    finetune.add_argument("--device", choices=DEVICES, default="cpu", help="where to train (default: cpu)")
    _add_run_options(finetune)
    finetune.set_defaults(func=run_finetune)


# ---------------------------------------------------------------------- train


def run_train(args: argparse.Namespace) -> int:
    from masklet.train.config import TrainConfig

    overrides = {"output": args.output, "steps": args.steps, "device": args.device, "threads": args.threads}
    try:
        config = TrainConfig.from_yaml(args.config, {k: v for k, v in overrides.items() if v is not None})
    except (ValueError, TypeError) as e:
        message = one_line(e)
        raise CliError(message if message.startswith(str(args.config)) else f"{args.config}: {message}") from None
    trainer = start(config, args)
    return finish(trainer, args)


# ---------------------------------------------------------------------- finetune


def run_finetune(args: argparse.Namespace) -> int:
    from masklet.io.atomic import write_text_atomic
    from masklet.train.config import DataSourceConfig, TrainConfig
    from masklet.train.optim import OptimConfig

    check_device(args.device, "float32")
    base = finetune_base(args.model, progress=not args.quiet)
    sources = [open_source(path) for path in args.data]
    samples = sum(len(s) for s in sources)
    epochs = args.epochs if args.epochs is not None else DEFAULT_EPOCHS
    steps = args.steps or max(1, math.ceil(epochs * samples / args.batch_size))
    pseudo_video = args.pseudo_video if args.pseudo_video is not None else args.frames > 1
    data = tuple(
        DataSourceConfig(path=str(Path(path).absolute()), weight=float(len(source)),
                         pseudo_video=pseudo_video and not getattr(source, "is_video", False))
        for path, source in zip(args.data, sources)
    )
    optim = OptimConfig(
        lr=args.lr, warmup_steps=max(1, round(0.05 * steps)), grad_clip=1.0,
        layer_decay=1.0 if args.freeze_encoder else 0.9, freeze=("image_encoder",) if args.freeze_encoder else (),
    )
    try:
        config = TrainConfig(
            model=base, pretrained=True, output=str(Path(args.output).absolute()), data=data, steps=steps,
            batch_size=args.batch_size, num_frames=args.frames, optim=optim, device=args.device, threads=args.threads,
        )
    except ValueError as e:
        raise CliError(one_line(e)) from None
    print(f"fine-tuning {base} on {samples} samples from {len(sources)} source(s) for {steps} steps "
          f"({steps * args.batch_size / samples:.3g} epochs at batch size {args.batch_size}), image encoder "
          + ("frozen" if args.freeze_encoder else "trained"))
    trainer = start(config, args)
    write_text_atomic(
        trainer.output / FINETUNE_CONFIG,
        f"# The resolved config of `masklet finetune`; continue this run with\n"
        f"#   masklet train {trainer.output / FINETUNE_CONFIG} --steps N\n" + config.to_yaml(),
    )
    return finish(trainer, args)


def finetune_base(model: str | None, progress: bool) -> str:
    """The absolute path of the checkpoint to fine-tune: --model (an official name is downloaded)
    or the embedded default. A path, so the run's config finds it from any folder."""
    from masklet.checkpoint import CheckpointError, DownloadError, resolve_checkpoint

    source = model or embedded_model_path()
    if source is None:
        raise CliError(
            "no --model given and no embedded model is bundled with this masklet yet; "
            "pass --model NAME_OR_PATH (an official name from `masklet models`, or a checkpoint file)"
        )
    try:
        return str(resolve_checkpoint(source, progress=progress).absolute())
    except (CheckpointError, DownloadError) as e:
        raise CliError(str(e).splitlines()[0]) from None


def open_source(path: str):
    """The training source of a --data path, its layout detected."""
    from masklet.train.data import open_training_source

    try:
        return open_training_source(path)
    except ValueError as e:
        raise CliError(f"--data {one_line(e)}") from None


# ---------------------------------------------------------------------- shared


def start(config, args: argparse.Namespace):
    """The Trainer of `config`, resumed from the output folder's checkpoint unless --no-resume."""
    from masklet.checkpoint import CheckpointError, DownloadError
    from masklet.train.trainer import Trainer

    check_device(config.device, "float32")
    check_output_location(config.output, is_folder=True)
    try:
        trainer = Trainer(config)
        resumed = not args.no_resume and trainer.resume()
    except (CheckpointError, DownloadError) as e:
        raise CliError(str(e).splitlines()[0]) from None
    except ValueError as e:
        raise CliError(one_line(e)) from None
    if resumed:
        print(f"resuming from step {trainer.step} of {config.steps} in {trainer.output}")
    else:
        origin = {True: "from its weights", False: "from a random start", "imagenet": "from its trunk's ImageNet weights"}
        print(f"training {config.model} {origin[config.pretrained]} for {config.steps} steps (batch {config.batch_size} x "
              f"{config.num_frames} frames) into {trainer.output}")
    return trainer


def finish(trainer, args: argparse.Namespace) -> int:
    """Train to the end (or --max-minutes), then say where the results are."""
    from masklet.train.trainer import LOSS_CURVE, METRICS, WEIGHTS

    steps, output = trainer.config.steps, trainer.output
    if trainer.step >= steps:
        print(f"nothing to train: the run is already at step {trainer.step} of {steps} (raise --steps to go on)")
    try:
        trainer.fit(progress=not args.quiet, max_minutes=args.max_minutes)
    except KeyboardInterrupt:
        print(f"masklet: interrupted at step {trainer.step}; {output} keeps the last checkpoint: "
              "run the same command again to continue", file=sys.stderr)
        return 130
    except ValueError as e:  # a data file that cannot be used, found at this step
        raise CliError(f"step {trainer.step + 1}: {one_line(e)}") from None
    if trainer.step < steps:
        print(f"stopped after {args.max_minutes:g} minutes at step {trainer.step} of {steps} (checkpoint saved); "
              "run the same command again to continue")
    print(f"weights (Meta format, for every masklet command): {output / WEIGHTS}")
    print(f"metrics: {output / METRICS}")
    print(f"loss curve: {output / LOSS_CURVE}")
    if trainer.history:
        last = trainer.history[-1]
        print(f"losses at step {last['step']}: " + ", ".join(f"{k} {last[k]:.4f}" for k in LOSS_TERMS))
    return 0


def one_line(error: Exception | str) -> str:
    """A (possibly multi-line, column-aligned) message as one line: lines joined by '; '."""
    lines = [re.sub(r"\s+", " ", line.strip()) for line in str(error).splitlines() if line.strip()]
    return "; ".join(lines).replace(":;", ":")
