#!/usr/bin/env bash
# The recipe's training and evaluation on a machine with CUDA and no Node (the lent GPU
# machine): builds native/tools/train_run.cc (scripts/build-tool.sh: against $LIBTORCH,
# $Torch_DIR or `python3`'s CUDA torch) and runs it; every argument goes to it.
#   bash scripts/gpu-train.sh --data data/fashion-mnist --backbone resnet18 --flip \
#     --frozen-epochs 1 --epochs 20 --lr 1e-3 --classes 10 --per-class 32
# The data folder holds the four MNIST-format IDX files (gzipped or not); data/ is ignored by
# git, so the device tool takes it with carry: ["data/fashion-mnist"].
set -euo pipefail
cd "$(dirname "$0")/.."
tool="$(bash scripts/build-tool.sh semihard_train_run)"
"$tool" --device auto "$@"
