#!/usr/bin/env python3
"""The PyTorch (Python) side of `npm run bench:train`'s ResNet rows: torchvision's resnet18 /
resnet50 (ImageNet stem) cut before avgpool/fc, then the recipe's head (avg ⊕ max pooling,
BatchNorm1d, Dropout 0.25, Linear(features -> 128, bias=False)), L2 normalisation, the
semi-hard triplet loss (TF-Addons semantics, tensor ops from train_torch.py) and AdamW, on
random 64 x 64 RGB images with P x K labels, no augmentation (as the semihard side is run).
Phase 1 freezes every backbone parameter except BatchNorm's (fastai's freeze). Prints one
JSON line: images per second after warm-up steps."""

import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

from train_torch import semihard_loss


class Head(nn.Module):
    """semihard's head (native/core/embedding_head.h); the defaults are the recipe's for ResNets.
    `features`: the pooled width (2 x the map's channels with 'concat'). The linear layer's
    output is normalised in float32, as semihard does under autocast."""

    def __init__(self, features, dim=128, pool="concat", batch_norm=True, dropout=0.25):
        super().__init__()
        self.pool = pool
        self.bn = nn.BatchNorm1d(features) if batch_norm else nn.Identity()
        self.drop = nn.Dropout(dropout)
        self.linear = nn.Linear(features, dim, bias=False)

    def forward(self, maps):
        x = maps.mean((2, 3))
        if self.pool == "concat":
            x = torch.cat([x, maps.amax((2, 3))], 1)
        return F.normalize(self.linear(self.drop(self.bn(x))).float(), dim=1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--backbone", choices=["resnet18", "resnet34", "resnet50"], default="resnet18")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--classes", type=int, default=8)
    p.add_argument("--per-class", type=int, default=16)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--freeze", choices=["backbone", "none"], default="none")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    net = getattr(torchvision.models, a.backbone)()
    features = 2 * net.fc.in_features
    model = nn.Sequential(nn.Sequential(*list(net.children())[:-2]), Head(features))
    if a.freeze == "backbone":
        for m in model[0].modules():
            for prm in m.parameters(recurse=False):
                prm.requires_grad = isinstance(m, nn.BatchNorm2d)
    opt = torch.optim.AdamW([q for q in model.parameters() if q.requires_grad], lr=1e-3, weight_decay=0.01)
    b = a.classes * a.per_class
    images = torch.randint(0, 256, (512, 3, a.size, a.size), dtype=torch.uint8)
    labels = torch.arange(512) % 10
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    model.train()
    t0 = None
    for step in range(a.steps + a.warmup):
        if step == a.warmup:
            t0 = time.perf_counter()
        idx = torch.randint(0, 512, (b,), generator=gen)
        x = (images[idx].float() / 255.0 - mean) / std
        loss = semihard_loss(model(x), labels[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    seconds = time.perf_counter() - t0
    print(json.dumps({"imagesPerSecond": a.steps * b / seconds, "torch": torch.__version__, "torchvision": torchvision.__version__, "steps": a.steps, "batch": b}))


if __name__ == "__main__":
    main()
