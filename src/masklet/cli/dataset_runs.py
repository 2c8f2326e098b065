"""What `masklet annotate` and `masklet mine` share: engine options, running, the summary."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from masklet.cli.common import check_device, model_dtype
from masklet.cli.errors import CliError

EXIT_WITH_PROBLEMS = 1
ENGINE_HELP = (
    "engines: local runs --workers processes on this machine; ray runs one Ray task per item on the cluster "
    "at --ray-address, or on a local cluster (loopback only) of --workers CPUs started for the run. "
    "A run stopped for any reason resumes when the same command is given again. "
    "Exit codes: 0 done, 1 done with problems (one line each in OUTPUT/report.txt), 2 error."
)


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """--engine, --workers, --threads, --ray-address, --restart, --no-progress."""
    group = parser.add_argument_group("run")
    group.add_argument("--engine", choices=("local", "ray"), default="local", help="what runs the items (default: local)")
    group.add_argument("--workers", type=int, default=1, metavar="N",
                       help="worker processes (local) or CPUs of the local Ray cluster (default: 1)")
    group.add_argument("--threads", type=int, default=1, metavar="N",
                       help="torch threads per worker (default: 1; workers x threads should not exceed the cores)")
    group.add_argument("--ray-address", metavar="ADDRESS",
                       help="a running Ray cluster (e.g. 10.0.0.5:6379 or auto); default: start a local one")
    group.add_argument("--restart", action="store_true",
                       help="forget the run recorded in --output (its manifest and done items) and start over; "
                            "files it wrote stay until overwritten")
    group.add_argument("--no-progress", action="store_true", help="no progress bar")


def run_dataset_command(args: argparse.Namespace, what: str, run: Callable[..., object]) -> int:
    """Call `run(engine=..., workers=..., ...)` (masklet.annotate or masklet.mine), turning
    its failures into one-line errors, and print the summary."""
    from masklet.autolabel import BoxFileError, EngineError
    from masklet.autolabel.inputs import SourceError
    from masklet.autolabel.manifest import ManifestMismatchError
    from masklet.checkpoint import CheckpointError

    dtype = model_dtype(args)
    check_device(args.device, dtype)
    for option in ("workers", "threads", "sav_every"):
        if getattr(args, option) < 1:
            raise CliError(f"--{option.replace('_', '-')} must be >= 1, got {getattr(args, option)}")
    if args.ray_address and args.engine != "ray":
        raise CliError("--ray-address is for --engine ray")
    try:
        report = run(engine=args.engine, workers=args.workers, threads=args.threads, ray_address=args.ray_address,
                     model=args.model, device=args.device, dtype=dtype, restart=args.restart,
                     progress=not args.no_progress)
    except (BoxFileError, EngineError, SourceError, ManifestMismatchError, CheckpointError) as e:
        raise CliError(str(e).splitlines()[0]) from None
    done = report.items - len(report.failed)
    resumed = f" ({report.resumed} done by an earlier run)" if report.resumed else ""
    print(f"{what} {done} of {report.items} item(s){resumed} into {report.output}")
    if report.problems:
        print(f"{len(report.problems)} problem(s), one line each in {report.output / 'report.txt'}")
        return EXIT_WITH_PROBLEMS
    return 0
