#!/usr/bin/env python3
"""python scripts/bench/images/breakdown_torchvision.py [FOLDER]  (data/bench-venv's Python)

The torchvision counterpart of breakdown.js, one thread, ms of CPU per image (process_time over
600 images after 100 warm-up ones): ImageFolder's loader (PIL open + RGB), + Resize(256) +
CenterCrop(256), and the whole training transform of torchvision_pipeline.py. Then the
native transform's tensor operations as PyTorch ops on a batch of 128 stored images (uint8 HWC
to float 0..1, to NCHW, affine_grid, grid_sample bilinear with reflection padding, 224 x 224),
on the whole batch at once and in chunks of 8 and 1 images: what the order of the work costs."""

import os
import sys
import time

import torch
import torch.nn.functional as F
from PIL import Image
from torchvision import transforms as T

torch.set_num_threads(1)
root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
folder = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "data", "bench-images"))
files = [os.path.join(folder, c, f) for c in sorted(os.listdir(folder)) if os.path.isdir(os.path.join(folder, c))
         for f in sorted(os.listdir(os.path.join(folder, c)))]


def load(path):
    with open(path, "rb") as f:
        return Image.open(f).convert("RGB")


def per_image(label, fn):
    for f in files[:100]:
        fn(f)
    n = 600
    c0 = time.process_time()
    for i in range(n):
        fn(files[(100 + i) % len(files)])
    print(f"| {label} | {(time.process_time() - c0) / n * 1000:.2f} |")


def per_batch(label, fn, count=128, repeats=5):
    fn()
    c0 = time.process_time()
    for _ in range(repeats):
        fn()
    print(f"| {label} | {(time.process_time() - c0) / repeats / count * 1000:.2f} |")


print(f"one thread, ms of CPU per image; torch {torch.__version__}; {len(files)} files in {folder}")
print()
print("| stage | ms CPU / image |")
print("|---|---:|")
per_image("ImageFolder loader: PIL open + convert RGB", load)
per_image("+ Resize(256) + CenterCrop(256)", T.Compose([load, T.Resize(256), T.CenterCrop(256)]))
per_image("whole training transform (torchvision_pipeline.py's)", T.Compose([
    load, T.Resize(256), T.CenterCrop(256),
    T.RandomResizedCrop(224, scale=(0.35, 1.0), ratio=(3 / 4, 4 / 3)), T.RandomHorizontalFlip(),
    T.RandomRotation(10, interpolation=T.InterpolationMode.BILINEAR), T.ToTensor(),
    T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])]))

stored = torch.randint(0, 256, (128, 256, 256, 3), dtype=torch.uint8)
theta = torch.eye(2, 3).repeat(128, 1, 1)


def transform(chunk):
    out = torch.empty(128, 3, 224, 224)
    for i in range(0, 128, chunk):
        x = stored[i:i + chunk].permute(0, 3, 1, 2).float().div_(255)
        grid = F.affine_grid(theta[i:i + chunk], (x.shape[0], 3, 224, 224), align_corners=False)
        out[i:i + chunk] = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    return out


def whole_batch():
    x = stored.float() / 255
    x = x.permute(0, 3, 1, 2).contiguous()
    grid = F.affine_grid(theta, (128, 3, 224, 224), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


per_batch("to float, NCHW, affine_grid, grid_sample: the whole batch of 128 at once", whole_batch)
per_batch("the same in chunks of 8 images", lambda: transform(8))
per_batch("the same one image at a time", lambda: transform(1))
