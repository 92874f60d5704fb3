#!/usr/bin/env bash
# Makes the Python side of `npm run bench:images`: a virtual environment at data/bench-venv
# (git-ignored) with torch 2.14.1 + torchvision 0.29.1 from PyPI (a CUDA build, ~5.5 GB in the
# venv, that runs on the CPU here; on this machine pip takes both wheels from the local disk)
# and scikit-learn (whose package ships the two sample photos, china.jpg and flower.jpg, that
# make-folder.js crops the benchmark's JPEGs from).
#
#   bash scripts/bench/images/setup-python.sh [venv-dir]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
venv="${1:-$root/data/bench-venv}"
python="${PYTHON:-python3}"
case "$(uname -m)" in
  x86_64) torch=2.14.1; vision=0.29.1 ;;
  aarch64 | arm64) torch=2.9.1; vision=0.24.1 ;; # a CPU build there
  *) echo "setup-python.sh: no torch/torchvision pair chosen for $(uname -m)" >&2; exit 1 ;;
esac
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install "torch==$torch" "torchvision==$vision" scikit-learn
"$venv/bin/python" -c 'import torch, torchvision, sklearn; print("bench venv:", torch.__version__, torchvision.__version__, sklearn.__version__)'
