"""How the command line reports failures: one line on stderr, exit code 2."""

from __future__ import annotations

import argparse

from masklet.errors import MaskletError


class CliError(MaskletError):
    """A user-facing failure: printed as one line, exit code 2."""


class CliParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr, exit code 2."""

    def error(self, message: str):
        self.exit(2, f"masklet: error: {message} (see `{self.prog} --help`)\n")
