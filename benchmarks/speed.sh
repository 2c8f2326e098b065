#!/usr/bin/env bash
# The README's speed table: Masklet beside Meta's reference (sam2 1.1.0 in its own venv) on
# seeded official-format checkpoints, the demo's camera move over a photo, one fresh process
# per model and side; --fast adds the fast settings this machine supports (bfloat16 where native,
# int8, fast memory, both, OpenVINO), each with its masks' IoU vs float32 (the README's main table). Needs the reference venv: bash tools/parity/setup_refvenv.sh
#
#   bash benchmarks/speed.sh [extra masklet benchmark options, e.g. --device cuda --dtypes float32 bfloat16]
set -euo pipefail
cd "$(dirname "$0")/.."
REFERENCE_PYTHON="${MASKLET_REFERENCE_PYTHON:-/tmp/refvenv/bin/python}"
mkdir -p benchmarks/results/speed
.venv/bin/masklet benchmark --models sam2.1-hiera-tiny --seeded --frames 8 --objects 1 3 8 --repeats 1 --threads 2 --fast \
    --reference --reference-python "$REFERENCE_PYTHON" \
    --output benchmarks/results/speed/tiny_fast.json --markdown benchmarks/results/speed/tiny_fast.md "$@"
.venv/bin/masklet benchmark --models sam2.1-hiera-tiny --seeded --frames 8 --objects 1 3 --repeats 2 --threads 1 --onnx \
    --reference --reference-python "$REFERENCE_PYTHON" \
    --output benchmarks/results/speed/tiny.json --markdown benchmarks/results/speed/tiny.md "$@"
.venv/bin/masklet benchmark --models masklet-nano --frames 10 --objects 1 3 8 --repeats 3 \
    --output benchmarks/results/speed/nano.json --markdown benchmarks/results/speed/nano.md "$@"
