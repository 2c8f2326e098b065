"""The `masklet` command line: one module per command group, registered here."""

from __future__ import annotations

import argparse
import sys

from masklet.cli.errors import CliError, CliParser, out_of_memory


def build_parser() -> argparse.ArgumentParser:
    from masklet import __version__
    from masklet.cli import (
        annotate,
        auto,
        benchmark,
        checkpoints,
        evaluate,
        export,
        label_studio,
        mine,
        segment,
        serve,
        track,
        train,
    )

    parser = CliParser(prog="masklet", description="SAM 2 segmentation for images and videos.")
    parser.add_argument("--version", action="version", version=f"masklet {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    segment.register(sub)
    auto.register(sub)
    track.register(sub)
    annotate.register(sub)
    mine.register(sub)
    checkpoints.register(sub)
    train.register(sub)
    evaluate.register(sub)
    benchmark.register(sub)
    serve.register(sub)
    label_studio.register(sub)
    export.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from masklet.io.atomic import OutputNotWritableError

    args = build_parser().parse_args(argv)  # --help, --version and usage errors exit here
    try:
        return int(args.func(args) or 0)
    except (CliError, OutputNotWritableError) as e:
        print(f"masklet: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("masklet: interrupted", file=sys.stderr)
        return 130
    except (MemoryError, RuntimeError) as e:
        message = out_of_memory(e)
        if message is None:
            raise
        print(f"masklet: error: {message}", file=sys.stderr)
        return 1
