#!/usr/bin/env python3
"""The torchvision side of `npm run bench:images`: ImageFolder + DataLoader over a folder of JPEGs
with the training transforms semihard applies to an image folder (design: stored size 256 =
round(224 * 8 / 7), cover-resize + centre crop; then RandomResizedCrop(224, scale (0.35, 1),
ratio (3/4, 4/3)), horizontal flip, rotation +-10 degrees (bilinear): lib/augment.ts's
DEFAULT_PHOTO_AUGMENT; then to float, ImageNet normalisation), batches of 128.

Timing: epochs 1..warmup are run and not timed (they warm the page cache, the libraries and
the allocator); each later epoch is timed whole, from iter(loader) (so the workers' start,
which DataLoader repeats every epoch by default) to the last batch. Images/s = images of the
timed epochs / their seconds.

Memory: peak RSS of the main process (VmHWM) plus each worker's peak RSS (VmHWM, read from
/proc after every batch: DataLoader joins its workers before the last batch's loop ends), the
largest sum over epochs; forked workers
share the parent's pages copy-on-write, so a sum of RSS counts those pages once per process.
A sampler thread also records the largest sum of PSS (/proc/PID/smaps_rollup: shared pages
split between the processes that share them) of the main process and its workers.

CPU time: user + system seconds of the main process and the timed epochs' workers (they are
joined, so getrusage(RUSAGE_CHILDREN) has them), over the same epochs: images per CPU-second is
less sensitive than images/s to other work on the machine.

Prints one JSON line."""

import argparse
import json
import os
import resource
import threading
import time

import torch
import torchvision
from torch.utils.data import DataLoader
from torchvision import datasets, transforms
from torchvision.transforms import InterpolationMode

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def cpu_seconds():
    """User + system CPU time of this process and of its children that have been waited for
    (DataLoader joins an epoch's workers before its iterator stops)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def status_kb(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid):
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(p) for p in f.read().split()]
    except OSError:
        pass
    return out


class PssSampler(threading.Thread):
    def __init__(self, interval):
        super().__init__(daemon=True)
        self.interval = interval
        self.peak_kb = 0
        self.stop = threading.Event()

    def run(self):
        me = os.getpid()
        while not self.stop.is_set():
            total = pss_kb(me) + sum(pss_kb(c) for c in children(me))
            self.peak_kb = max(self.peak_kb, total)
            self.stop.wait(self.interval)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("folder")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--warmup", type=int, default=1, help="untimed epochs first")
    p.add_argument("--epochs", type=int, default=1, help="timed epochs")
    p.add_argument("--threads", type=int, default=1, help="torch threads of the main process")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    stored = round(a.size * 8 / 7)
    train = transforms.Compose([
        transforms.Resize(stored, interpolation=InterpolationMode.BILINEAR),
        transforms.CenterCrop(stored),
        transforms.RandomResizedCrop(a.size, scale=(0.35, 1.0), ratio=(3 / 4, 4 / 3), interpolation=InterpolationMode.BILINEAR),
        transforms.RandomHorizontalFlip(),
        transforms.RandomRotation(10, interpolation=InterpolationMode.BILINEAR),
        transforms.ToTensor(),
        transforms.Normalize(MEAN, STD),
    ])
    data = datasets.ImageFolder(a.folder, transform=train)
    loader = DataLoader(data, batch_size=a.batch, shuffle=True, num_workers=a.workers, drop_last=True)

    sampler = PssSampler(0.1)
    sampler.start()
    me = os.getpid()
    rss_sum_kb = 0
    timed_images = 0
    timed_seconds = 0.0
    timed_cpu = 0.0
    for epoch in range(a.warmup + a.epochs):
        t0 = time.perf_counter()
        c0 = cpu_seconds()
        it = iter(loader)
        worker_hwm = {}
        images = 0
        for x, y in it:
            assert x.shape == (a.batch, 3, a.size, a.size) and x.dtype == torch.float32
            images += x.shape[0]
            for w in children(me):
                worker_hwm[w] = max(worker_hwm.get(w, 0), status_kb(w, "VmHWM"))
        seconds = time.perf_counter() - t0
        cpu = cpu_seconds() - c0
        rss_sum_kb = max(rss_sum_kb, status_kb(me, "VmHWM") + sum(worker_hwm.values()))
        del it
        if epoch >= a.warmup:
            timed_images += images
            timed_seconds += seconds
            timed_cpu += cpu
    sampler.stop.set()
    sampler.join()
    print(json.dumps({
        "imagesPerSecond": timed_images / timed_seconds,
        "images": timed_images,
        "seconds": timed_seconds,
        "cpuSeconds": timed_cpu,
        "peakRssBytes": rss_sum_kb * 1024,
        "peakPssBytes": sampler.peak_kb * 1024,
        "files": len(data),
        "classes": len(data.classes),
        "workers": a.workers,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "pillow": __import__("PIL").__version__,
    }))


if __name__ == "__main__":
    main()
