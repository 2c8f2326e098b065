#!/usr/bin/env bash
# Create the reference venv used to generate parity fixtures (a dev tool, never a Masklet
# dependency). Usage: tools/parity/setup_refvenv.sh [/tmp/refvenv]
set -euo pipefail
venv=${1:-/tmp/refvenv}
python3 -m venv "$venv"
"$venv/bin/pip" install -q sam2==1.1.0
"$venv/bin/pip" install -q transformers safetensors scipy
echo "reference venv ready: $venv"
