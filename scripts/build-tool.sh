#!/usr/bin/env bash
# Builds one of the native tools (native/tools/, SEMIHARD_BUILD_CHECKS) with plain CMake, for
# machines without Node, against $LIBTORCH, $Torch_DIR, or else $PYTHON's (python3's) torch; prints the
# executable's path on stdout (CMake's output goes to stderr).
#   bash scripts/build-tool.sh semihard_train_run
set -euo pipefail
cd "$(dirname "$0")/.."
target="$1"
prefix="${LIBTORCH:-}"
if [[ -z "$prefix" && -z "${Torch_DIR:-}" ]]; then
  prefix="$("${PYTHON:-python3}" -c 'import torch; print(torch.utils.cmake_prefix_path)')"
fi
build="${SEMIHARD_CHECK_BUILD:-build-check}"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DSEMIHARD_BUILD_CHECKS=ON \
  ${prefix:+-DCMAKE_PREFIX_PATH="$prefix"} ${Torch_DIR:+-DTorch_DIR="$Torch_DIR"} >&2
cmake --build "$build" -j "$(nproc)" --target "$target" >&2
echo "$(cd "$build" && pwd)/$target"
