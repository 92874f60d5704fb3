#!/usr/bin/env python3
"""The PyTorch (Python) baseline of `npm run bench:train`: the same convnet, embedding head,
L2 normalisation, semi-hard triplet loss (TF-Addons semantics, written here with tensor
ops), random affine augmentation with reflection padding and AdamW, on random 28x28 images
with P x K labels. Prints one JSON line: images per second after warm-up steps."""

import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def convnet(dim):
    def stage(i, o):
        return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True)]

    return nn.Sequential(
        *stage(1, 32), *stage(32, 32), nn.MaxPool2d(2),
        *stage(32, 64), *stage(64, 64), nn.MaxPool2d(2),
        *stage(64, 128), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(128, dim, bias=False),
    )


def semihard_loss(emb, labels, margin=1.0):
    sq = (emb * emb).sum(1)
    d2 = (sq[:, None] + sq[None, :] - 2.0 * emb @ emb.t()).clamp_min(0.0)
    zero = d2 <= 0
    d = torch.sqrt(d2 + zero.float() * 1e-16) * (~zero).float()
    d = d * (1.0 - torch.eye(len(emb), device=emb.device))
    same = labels[:, None] == labels[None, :]
    neg = ~same
    pos = same & ~torch.eye(len(emb), dtype=torch.bool, device=emb.device)
    # for each (a, p): smallest d[a, n] with n negative and d[a, n] > d[a, p]
    candidate = neg[:, None, :] & (d[:, None, :] > d[:, :, None])  # a, p, n
    big = d.max()
    outside = torch.where(candidate, d[:, None, :], big + 1).min(2).values
    has = candidate.any(2)
    inside = torch.where(neg, d, torch.full_like(d, -1)).max(1, keepdim=True).values.expand_as(d)
    chosen = torch.where(has, outside, inside)
    loss = (margin + d - chosen).clamp_min(0) * pos.float()
    return loss.sum() / pos.float().sum().clamp_min(1)


def augment(x, gen):
    n = x.shape[0]
    angle = (torch.rand(n, generator=gen) * 2 - 1) * math.radians(10)
    scale = torch.rand(n, generator=gen) * 0.2 + 0.9
    tx = (torch.rand(n, generator=gen) * 2 - 1) * 0.2
    ty = (torch.rand(n, generator=gen) * 2 - 1) * 0.2
    c, s = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([c, -s, tx], 1), torch.stack([s, c, ty], 1)], 1).to(x.device, non_blocking=True)
    grid = F.affine_grid(theta, x.shape, align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--classes", type=int, default=8)
    p.add_argument("--per-class", type=int, default=16)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--freeze", choices=["backbone", "none"], default="none")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    model = convnet(128)
    if a.freeze == "backbone":
        for m in model.modules():
            for prm in m.parameters(recurse=False):
                prm.requires_grad = isinstance(m, (nn.BatchNorm2d, nn.Linear))
    opt = torch.optim.AdamW([q for q in model.parameters() if q.requires_grad], lr=1e-3, weight_decay=0.01)
    b = a.classes * a.per_class
    images = torch.randint(0, 256, (1024, 28, 28), dtype=torch.uint8)
    labels = torch.arange(1024) % 10
    model.train()
    t0 = None
    for step in range(a.steps + a.warmup):
        if step == a.warmup:
            t0 = time.perf_counter()
        idx = torch.randint(0, 1024, (b,), generator=gen)
        x = ((images[idx].float() / 255.0 - 0.13) / 0.31).unsqueeze(1)
        with torch.no_grad():
            x = augment(x, gen)
        emb = F.normalize(model(x), p=2, dim=1)
        loss = semihard_loss(emb, labels[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    seconds = time.perf_counter() - t0
    print(json.dumps({"imagesPerSecond": a.steps * b / seconds, "torch": torch.__version__, "steps": a.steps, "batch": b}))


if __name__ == "__main__":
    main()
