#!/usr/bin/env bash
# The GPU check of the losses, for a machine with CUDA and no Node: builds
# native/tools/loss_check.cc (scripts/build-tool.sh: against $LIBTORCH, $Torch_DIR or
# `python3`'s CUDA torch), then compares CUDA with CPU (loss and gradient, 1e-5) and times
# forward+backward next to a Gram product at B = 4096, 16384, 65536.
#   bash scripts/gpu-check.sh [--sizes 4096,16384,65536]
set -euo pipefail
cd "$(dirname "$0")/.."
tool="$(bash scripts/build-tool.sh semihard_loss_check)"
sizes="4096,16384,65536"
if [[ "${1:-}" == "--sizes" ]]; then sizes="$2"; fi
"$tool" --device cuda --compare --sizes "$sizes" --repeats 5
