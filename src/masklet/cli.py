"""The `masklet` command line. Each area registers its subcommands here."""

from __future__ import annotations

import argparse
import sys


class CliError(Exception):
    """A user-facing failure: printed as one line, exit code 2."""


class CliParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr, exit code 2."""

    def error(self, message: str):
        self.exit(2, f"masklet: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    from masklet import __version__
    from masklet.commands import auto, checkpoints, segment, track, train
    from masklet.eval.cli import register as register_eval

    parser = CliParser(prog="masklet", description="SAM 2 segmentation for images and videos.")
    parser.add_argument("--version", action="version", version=f"masklet {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    segment.register(sub)
    auto.register(sub)
    track.register(sub)
    checkpoints.register(sub)
    train.register(sub)
    register_eval(sub)
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


if __name__ == "__main__":
    # Run as `python -m masklet.cli` this file is `__main__`, a second copy of the module: use the
    # package's `main`, whose CliError is the class the commands raise.
    from masklet.cli import main as package_main

    sys.exit(package_main())
