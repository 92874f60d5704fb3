#!/usr/bin/env bash
# The recipe's training and evaluation on a machine with CUDA and no Node (the lent GPU
# machine): builds native/tools/train_run.cc with plain CMake against the CUDA LibTorch of
# `python3`'s torch (or $Torch_DIR / $LIBTORCH) and runs it; every argument goes to it.
#   bash scripts/gpu-train.sh --data data/fashion-mnist --backbone resnet18 --flip \
#     --frozen-epochs 1 --epochs 20 --lr 1e-3 --classes 10 --per-class 32
# The data folder holds the four MNIST-format IDX files (gzipped or not); data/ is ignored by
# git, so the device tool takes it with carry: ["data/fashion-mnist"].
set -euo pipefail
cd "$(dirname "$0")/.."
prefix="${LIBTORCH:-}"
if [[ -z "$prefix" && -z "${Torch_DIR:-}" ]]; then
  prefix="$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')"
fi
build="${SEMIHARD_CHECK_BUILD:-build-check}"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DSEMIHARD_BUILD_CHECKS=ON \
  ${prefix:+-DCMAKE_PREFIX_PATH="$prefix"} ${Torch_DIR:+-DTorch_DIR="$Torch_DIR"} >/dev/null
cmake --build "$build" -j "$(nproc)" --target semihard_train_run
"$build/semihard_train_run" --device auto "$@"
