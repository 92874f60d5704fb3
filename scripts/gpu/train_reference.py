#!/usr/bin/env python3
"""PyTorch's side of the GPU training check: the network and recipe of
native/tools/train_run.cc's throughput run (--steps), in Python PyTorch, on the same data, so
that both run on one GPU in one job and print the same line:

    RESULT images_per_s=<x> steps=<n> precision=<p> device=<d>

The network: torchvision's ResNet cut before avgpool/fc, its conv1 taking the images' one
channel (--stem small: 3x3 stride 1 and no max-pool; imagenet: 7x7 stride 2 and the max-pool),
then semihard's head (scripts/bench/train_torchvision.py's Head: --pool, --head-bn,
--dropout, Linear(features -> dim, no bias), L2 in float32). The recipe: the training set
uploaded once (uint8) and every step's P x K batch gathered, scaled to 0..1, standardised with
the training pixels' mean and deviation and augmented (random affine with reflection,
scripts/bench/train_torch.py's augment) on the device; the forward under torch.autocast
(--precision bf16 or fp16), the semi-hard triplet loss (train_torch.py's, TF-Addons semantics)
in float32, a GradScaler for fp16; AdamW (weight decay 0.01) with a one-cycle schedule over the
steps. On CUDA: channels-last and cudnn.benchmark, as semihard. The steps after --warmup are
timed between two reads of the loss (the device's queue empty at both ends).

    python3 scripts/gpu/train_reference.py --data DIR --steps 200 --precision bf16 --device cuda
"""

import argparse
import gzip
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
from train_torch import augment, semihard_loss  # noqa: E402
from train_torchvision import Head  # noqa: E402
import torchvision  # noqa: E402


def read_idx(path):
    """An IDX file of unsigned bytes (or its .gz) as a numpy array."""
    opener = open if os.path.exists(path) else gzip.open
    with opener(path if os.path.exists(path) else path + ".gz", "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * d: 8 + 4 * d], "big") for d in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def network(a):
    net = getattr(torchvision.models, a.backbone)()
    if a.stem == "small":
        net.conv1, net.maxpool = nn.Conv2d(1, 64, 3, 1, 1, bias=False), nn.Identity()
    else:
        net.conv1 = nn.Conv2d(1, 64, 7, 2, 3, bias=False)
    channels = net.fc.in_features
    features = channels * (2 if a.pool == "concat" else 1)
    head = Head(features, a.dim, a.pool, a.head_bn, a.dropout)
    return nn.Sequential(nn.Sequential(*list(net.children())[:-2]), head)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True, help="a folder of MNIST-format IDX files (train-images-idx3-ubyte[.gz], ...)")
    p.add_argument("--backbone", choices=["resnet18", "resnet34", "resnet50"], default="resnet18")
    p.add_argument("--stem", choices=["small", "imagenet"], default="small")
    p.add_argument("--pool", choices=["avg", "concat"], default="avg")
    p.add_argument("--head-bn", action="store_true")
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--classes", type=int, default=8)
    p.add_argument("--per-class", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--precision", choices=["fp32", "bf16", "fp16"], default="fp32")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--no-augment", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    device = torch.device("cuda" if a.device == "cuda" or (a.device == "auto" and torch.cuda.is_available()) else "cpu")
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed + 1)

    images = torch.from_numpy(read_idx(os.path.join(a.data, "train-images-idx3-ubyte")).copy())
    labels = torch.from_numpy(read_idx(os.path.join(a.data, "train-labels-idx1-ubyte")).astype(np.int64))
    pixels = images.double() / 255.0
    mean, std = pixels.mean().item(), max(pixels.std(unbiased=False).item(), 1e-6)
    images = images.to(device)  # once, uint8
    members = [torch.nonzero(labels == c).flatten() for c in torch.unique(labels).tolist()]
    classes = min(a.classes, len(members))
    batch = classes * a.per_class
    labels_on_device = labels.to(device)

    model = network(a).to(device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        model = model.to(memory_format=torch.channels_last)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=a.steps)
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(a.precision)
    scaler = torch.amp.GradScaler(device.type, enabled=a.precision == "fp16")

    def next_batch():
        chosen = torch.randperm(len(members), generator=gen)[:classes]
        rows = [members[c][torch.randint(0, len(members[c]), (a.per_class,), generator=gen)] for c in chosen.tolist()]
        return torch.cat(rows).to(device, non_blocking=True)

    warmup = min(a.warmup, a.steps - 1)
    t0 = time.perf_counter()
    for step in range(a.steps):
        idx = next_batch()
        x = ((images.index_select(0, idx).float() / 255.0 - mean) / std).unsqueeze(1)
        if not a.no_augment:
            x = augment(x, gen)
        if device.type == "cuda":
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None):
            embeddings = model(x)
        loss = semihard_loss(embeddings.float(), labels_on_device.index_select(0, idx))
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        schedule.step()
        if step + 1 == warmup:
            loss.item()
            t0 = time.perf_counter()
    last = loss.item()
    seconds = time.perf_counter() - t0
    print(f"last loss {last:.4f}; torch {torch.__version__}, torchvision {torchvision.__version__}")
    name = f"{device.type}:{torch.cuda.current_device()}" if device.type == "cuda" else "cpu"
    print(f"RESULT images_per_s={(a.steps - max(warmup, 0)) * batch / seconds:.1f} steps={a.steps} precision={a.precision} device={name}")


if __name__ == "__main__":
    main()
