"""`masklet benchmark`: speed and memory of models, optionally beside Meta's reference."""

from __future__ import annotations

import argparse
import json
import os

from masklet.cli.common import (
    DEVICES,
    EMBEDDED_MODEL,
    PRECISIONS,
    check_device,
    check_output_location,
)
from masklet.cli.errors import CliError

REFERENCE_PYTHON_VARIABLE = "MASKLET_REFERENCE_PYTHON"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "benchmark", help="time image encoding, decoding and video tracking (optionally beside the reference)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="For each model and dtype, in a fresh process: parameters, weights size, image encode ms, "
        "decode ms per prompt, frames/s tracking 1, 3 and 8 objects at full memory, ms per object-frame (what one "
        "more object costs), peak memory and the lowest IoU of its masks with float32's. --fast adds every fast "
        "setting this machine supports (bfloat16 where native, int8 on AVX2 CPUs, the fast memory preset, OpenVINO "
        "in bfloat16 where it is installed and native) as a side of its own. With "
        "--reference, Meta's sam2 package (in its own venv: --reference-python, or $MASKLET_REFERENCE_PYTHON) runs "
        "the same checkpoint, image and frames, and the reference / Masklet time ratios are printed.",
        epilog="example: masklet benchmark --models sam2.1-hiera-tiny --seeded --reference "
        "--reference-python /tmp/refvenv/bin/python --output bench.json",
    )
    parser.add_argument("--models", nargs="+", default=[EMBEDDED_MODEL], metavar="NAME_OR_PATH",
                        help=f"model names or checkpoint files (default: {EMBEDDED_MODEL})")
    parser.add_argument("--seeded", action="store_true",
                        help="use random weights of the named configs instead of downloading their checkpoints "
                        "(speed does not depend on the weights' values)")
    parser.add_argument("--dtypes", nargs="+", choices=[p for p in PRECISIONS if p != "auto"], default=["float32"],
                        help="arithmetic to measure (default: float32)")
    parser.add_argument("--fast", action="store_true",
                        help="also every fast setting this machine supports, each a side of its own beside float32 "
                        "(see `masklet info --system`)")
    parser.add_argument("--device", choices=DEVICES, default="cpu", help="where to run (default: cpu)")
    parser.add_argument("--video", help="a video file or folder of frames (default: a camera move over a photo)")
    parser.add_argument("--image", help="the image to encode (default: the first frame)")
    parser.add_argument("--frames", type=int, default=10,
                        help="frames tracked; those from index num_maskmem (7) on are timed (default: 10)")
    parser.add_argument("--objects", type=int, nargs="+", default=[1, 3, 8], help="object counts (default: 1 3 8)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of encode (x5 for decode) (default: 3)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    parser.add_argument("--onnx", action="store_true",
                        help="also export each model to ONNX and time it on ONNX Runtime (cpu, float32)")
    parser.add_argument("--reference", action="store_true", help="also time Meta's reference on official configs")
    parser.add_argument("--reference-python", metavar="PYTHON",
                        help=f"the interpreter of a venv with `pip install sam2` (default: ${REFERENCE_PYTHON_VARIABLE})")
    parser.add_argument("--output", help="write the records as JSON here")
    parser.add_argument("--markdown", help="write the table as markdown here")
    parser.set_defaults(func=run_benchmark_command)


def run_benchmark_command(args: argparse.Namespace) -> int:
    from masklet.eval.speed import (
        BenchmarkError,
        BenchmarkPlan,
        run_benchmark,
        speed_table,
    )
    from masklet.io.atomic import write_text_atomic

    if args.onnx and args.device != "cpu":
        raise CliError(f"--onnx times ONNX Runtime on the cpu; it cannot run with --device {args.device}")
    for dtype in args.dtypes:
        check_device(args.device, dtype)
    if args.frames <= 7 or min(args.objects) < 1 or args.repeats < 1:
        raise CliError("--frames must be above 7 (the memory fills at frame 7) and --objects, --repeats at least 1")
    for path in (args.output, args.markdown):
        if path:
            check_output_location(path)
    reference_python = None
    if args.reference:
        reference_python = args.reference_python or os.environ.get(REFERENCE_PYTHON_VARIABLE)
        if not reference_python or not os.access(reference_python, os.X_OK):
            raise CliError(
                "--reference needs the Python of a venv where `pip install sam2` was run: pass --reference-python "
                f"PATH or set ${REFERENCE_PYTHON_VARIABLE} (got {reference_python or 'nothing'})"
            )
    plan = BenchmarkPlan(
        models=tuple(args.models), dtypes=tuple(args.dtypes), fast=args.fast, device=args.device, seeded=args.seeded,
        video=args.video, image=args.image, frames=args.frames, objects=tuple(sorted(set(args.objects))),
        repeats=args.repeats, threads=args.threads, reference_python=reference_python, onnx=args.onnx,
    )
    try:
        records = run_benchmark(plan)
    except (BenchmarkError, KeyError, ValueError) as e:
        raise CliError(str(e).strip("'\"")) from None
    table = speed_table(records)
    print(table)
    if args.output:
        write_text_atomic(args.output, json.dumps([r.to_dict() for r in records], indent=2))
        print(f"wrote {args.output}")
    if args.markdown:
        write_text_atomic(args.markdown, table + "\n")
        print(f"wrote {args.markdown}")
    return 0
