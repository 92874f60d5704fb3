#!/usr/bin/env bash
# The GPU check of the losses, for a machine with CUDA and no Node: builds
# native/tools/loss_check.cc with plain CMake against the CUDA LibTorch of `python3`'s torch
# (or $Torch_DIR / $LIBTORCH), then compares CUDA with CPU (loss and gradient, 1e-5) and
# times forward+backward next to a Gram product at B = 4096, 16384, 65536.
#   bash scripts/gpu-check.sh [--sizes 4096,16384,65536]
set -euo pipefail
cd "$(dirname "$0")/.."
prefix="${LIBTORCH:-}"
if [[ -z "$prefix" && -z "${Torch_DIR:-}" ]]; then
  prefix="$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')"
fi
build="${SEMIHARD_CHECK_BUILD:-build-check}"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DSEMIHARD_BUILD_CHECKS=ON \
  ${prefix:+-DCMAKE_PREFIX_PATH="$prefix"} ${Torch_DIR:+-DTorch_DIR="$Torch_DIR"}
cmake --build "$build" -j "$(nproc)" --target semihard_loss_check
sizes="4096,16384,65536"
if [[ "${1:-}" == "--sizes" ]]; then sizes="$2"; fi
"$build/semihard_loss_check" --device cuda --compare --sizes "$sizes" --repeats 5
