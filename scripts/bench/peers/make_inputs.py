#!/usr/bin/env python3
"""Write the peer benchmark's inputs: one batch per (B, classes).

    python make_inputs.py OUT_DIR [--sizes 128,512,...] [--classes 10,100] [--dim 128]

For each batch, OUT_DIR/B{B}_c{classes} is the input prefix, with
  PREFIX.f32   B x D float32, little-endian, row-major: L2-normalised Gaussian vectors
  PREFIX.i32   B int32, little-endian: labels
  PREFIX.json  {"B", "D", "classes", "seed", "min_per_class", "max_per_class"}
and OUT_DIR/index.json lists every prefix (relative to OUT_DIR) with its header.

Labels are P x K as far as B allows: label i % classes for i < B, then shuffled, so every
class holds B // classes or B // classes + 1 examples (B = 128 with 100 classes gives 28
classes of 2 and 72 singletons: anchors without a positive add nothing to the loss, as
in TF-Addons). Seeded by (B, classes, D): the same command writes the same bytes.
Only numpy is needed.
"""
import argparse
import json
import os

import numpy as np

DEFAULT_SIZES = [128, 512, 2048, 8192, 32768]
DEFAULT_CLASSES = [10, 100]


def make_batch(B, classes, D):
    seed = [B, classes, D, 20240601]
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((B, D), dtype=np.float64)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    embeddings = x.astype('<f4')
    labels = (np.arange(B) % classes).astype('<i4')
    rng.shuffle(labels)
    counts = np.bincount(labels, minlength=classes)
    header = {
        'B': B,
        'D': D,
        'classes': classes,
        'seed': seed,
        'min_per_class': int(counts.min()),
        'max_per_class': int(counts.max()),
    }
    return embeddings, labels, header


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('out_dir')
    p.add_argument('--sizes', default=','.join(map(str, DEFAULT_SIZES)))
    p.add_argument('--classes', default=','.join(map(str, DEFAULT_CLASSES)))
    p.add_argument('--dim', type=int, default=128)
    a = p.parse_args()
    sizes = [int(s) for s in a.sizes.split(',') if s]
    class_counts = [int(s) for s in a.classes.split(',') if s]
    os.makedirs(a.out_dir, exist_ok=True)
    index = []
    for classes in class_counts:
        for B in sizes:
            emb, lab, header = make_batch(B, classes, a.dim)
            name = f'B{B}_c{classes}'
            prefix = os.path.join(a.out_dir, name)
            emb.tofile(prefix + '.f32')
            lab.tofile(prefix + '.i32')
            with open(prefix + '.json', 'w') as f:
                json.dump(header, f)
            index.append({'prefix': name, **header})
    with open(os.path.join(a.out_dir, 'index.json'), 'w') as f:
        json.dump(index, f, indent=1)
    print(json.dumps({'out_dir': a.out_dir, 'inputs': [e['prefix'] for e in index]}))


if __name__ == '__main__':
    main()
