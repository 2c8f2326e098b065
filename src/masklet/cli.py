"""The `masklet` command line. Each area registers its subcommands here."""

from __future__ import annotations

import argparse
import sys


class CliError(Exception):
    """A user-facing failure: printed as one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    from masklet import __version__
    from masklet.eval.cli import register as register_eval

    parser = argparse.ArgumentParser(prog="masklet", description="SAM 2 segmentation for images and videos.")
    parser.add_argument("--version", action="version", version=f"masklet {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    register_eval(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CliError as e:
        print(f"masklet: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("masklet: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
