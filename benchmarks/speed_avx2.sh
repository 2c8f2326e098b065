#!/usr/bin/env bash
# Speed on an AVX2-only CPU, measured on an AVX512 machine whose libraries are held to AVX2:
# torch's own kernels (ATEN_CPU_CAPABILITY), oneDNN (ONEDNN_MAX_CPU_ISA: bfloat16 then counts as
# emulated, so dtype auto picks int8), MKL's float32 GEMMs (MKL_ENABLE_INSTRUCTIONS) and FBGEMM's
# int8 GEMMs (FBGEMM_ENABLE_INSTRUCTIONS, no VNNI). The same instructions as such a CPU, not its
# caches, clocks or memory; the reference (sam2 1.1.0 in its own venv) runs under the same limits.
# Needs the reference venv: bash tools/parity/setup_refvenv.sh
#
#   bash benchmarks/speed_avx2.sh [extra masklet benchmark options]
set -euo pipefail
cd "$(dirname "$0")/.."
export ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2 FBGEMM_ENABLE_INSTRUCTIONS=AVX2
REFERENCE_PYTHON="${MASKLET_REFERENCE_PYTHON:-/tmp/refvenv/bin/python}"
mkdir -p benchmarks/results/speed
.venv/bin/masklet info --system > benchmarks/results/speed/tiny_avx2_system.txt
.venv/bin/masklet benchmark --models sam2.1-hiera-tiny --seeded --frames 8 --objects 1 8 --repeats 1 --threads 2 \
    --dtypes float32 int8 --reference --reference-python "$REFERENCE_PYTHON" \
    --output benchmarks/results/speed/tiny_avx2.json --markdown benchmarks/results/speed/tiny_avx2.md "$@"
