#!/usr/bin/env python3
"""Run ONE peer implementation of the semi-hard triplet loss on ONE input, print one JSON line.

    python run_peer.py PEER INPUT_PREFIX [--repeats R] [--threads 2] [--margin 1.0]

PEER is one of
  tfa                    tfa.losses.TripletSemiHardLoss(margin) (distance_metric "L2"), called as a
                         Keras loss on (labels, embeddings) under tf.GradientTape (eager), gradient
                         w.r.t. the embeddings tf.Variable.
  sentence-transformers  BatchSemiHardTripletLoss(model=None, margin=margin), default distance
                         (euclidean): compute_loss_from_embeddings([emb], labels), as its forward()
                         does once the model has produced the embeddings; torch autograd backward.
  pml                    pytorch-metric-learning TripletMarginLoss(margin) on the triplets of
                         TripletMarginMiner(margin, type_of_triplets="semihard"); backward.
                         Different semantics from TF-Addons (see note).

INPUT_PREFIX is a prefix written by make_inputs.py (PREFIX.json, PREFIX.f32, PREFIX.i32).
Timing: 1 warm-up, then the median of R forward+backward passes (loss and d loss / d embeddings).
Output (stdout, last line): {"peer", "B", "classes", "loss", "median_ms", "peak_rss_mib",
"version", "note"} plus "rss_before_mib" (RSS after imports and input loading, before the first
call) and, on failure, "error" ("OOM" or "error") with "message".
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

PEERS = ('tfa', 'sentence-transformers', 'pml')


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('peer', choices=PEERS)
    p.add_argument('prefix')
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--margin', type=float, default=1.0)
    return p.parse_args()


ARGS = parse_args()
# Before any numerical library is imported: OpenMP / MKL / Eigen pools read these at start-up.
for var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'TF_NUM_INTRAOP_THREADS',
            'TF_NUM_INTEROP_THREADS'):
    os.environ[var] = str(ARGS.threads)
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')

import numpy as np  # noqa: E402


def rss_mib(kind='peak'):
    if kind == 'peak':
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20


def load(prefix):
    with open(prefix + '.json') as f:
        h = json.load(f)
    emb = np.fromfile(prefix + '.f32', dtype='<f4').reshape(h['B'], h['D'])
    lab = np.fromfile(prefix + '.i32', dtype='<i4')
    assert lab.shape == (h['B'],)
    return h, emb, lab


def timed(step, repeats):
    step()  # warm-up
    ms = []
    loss = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        loss = step()
        ms.append((time.perf_counter() - t0) * 1e3)
    return loss, statistics.median(ms)


def peer_tfa(emb, lab, args):
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    import tensorflow_addons as tfa

    loss_fn = tfa.losses.TripletSemiHardLoss(margin=args.margin)  # distance_metric="L2"
    x = tf.Variable(emb)
    y = tf.constant(lab)

    def step():
        with tf.GradientTape() as tape:
            loss = loss_fn(y, x)
        grad = tape.gradient(loss, x)
        grad.numpy()  # eager: already computed; make sure of it
        return float(loss.numpy())

    version = f'tensorflow-addons {tfa.__version__}, tensorflow {tf.__version__}'
    note = ('tfa.losses.triplet_semihard_loss: mining tiles the B×B distance matrix B times (B³ floats and '
            'a B³ mask), so memory and time are O(B³)')
    return step, version, note


def torch_setup(args):
    import torch
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(args.threads)
    except RuntimeError:
        pass
    return torch


def peer_sentence_transformers(emb, lab, args):
    torch = torch_setup(args)
    import sentence_transformers
    try:
        from sentence_transformers.sentence_transformer.losses import BatchSemiHardTripletLoss
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers.losses import BatchSemiHardTripletLoss

    loss_fn = BatchSemiHardTripletLoss(model=None, margin=args.margin)  # distance: euclidean (L2)
    x = torch.from_numpy(emb.copy()).requires_grad_(True)
    y = torch.from_numpy(lab.astype(np.int64))

    def step():
        x.grad = None
        if hasattr(loss_fn, 'compute_loss_from_embeddings'):
            loss = loss_fn.compute_loss_from_embeddings([x], y)
        else:
            loss = loss_fn.batch_semi_hard_triplet_loss(y, x)
        loss.backward()
        return float(loss.detach())

    import inspect
    src = inspect.getsource(BatchSemiHardTripletLoss)
    if 'searchsorted' in src:
        algo = ('sort + searchsorted per anchor row (O(B² log B) time, O(B²) memory: several B×B float '
                'and an int64 B×B index matrix), same semantics as TF-Addons')
    elif '.repeat(' in src or 'tile' in src:
        algo = 'the O(B³) TF-Addons port (B×B matrix repeated B times)'
    else:
        algo = 'algorithm not recognised'
    version = f'sentence-transformers {sentence_transformers.__version__}, torch {torch.__version__}'
    note = algo
    return step, version, note


def peer_pml(emb, lab, args):
    torch = torch_setup(args)
    import pytorch_metric_learning
    from pytorch_metric_learning import losses, miners

    loss_fn = losses.TripletMarginLoss(margin=args.margin)
    miner = miners.TripletMarginMiner(margin=args.margin, type_of_triplets='semihard')
    x = torch.from_numpy(emb.copy()).requires_grad_(True)
    y = torch.from_numpy(lab.astype(np.int64))

    def step():
        x.grad = None
        loss = loss_fn(x, y, miner(x, y))
        loss.backward()
        return float(loss.detach())

    version = f'pytorch-metric-learning {pytorch_metric_learning.__version__}, torch {torch.__version__}'
    note = ('DIFFERENT semantics: every (a,p,n) with 0 < d(a,n)-d(a,p) <= margin, averaged over the non-zero '
            'triplet losses (AvgNonZeroReducer), not one negative per (a,p); the miner enumerates all B·P·N '
            'triplets (O(B³) memory)')
    return step, version, note


def main():
    args = ARGS
    h, emb, lab = load(args.prefix)
    out = {'peer': args.peer, 'B': h['B'], 'classes': h['classes'], 'loss': None, 'median_ms': None,
           'peak_rss_mib': None, 'version': None, 'note': None}
    try:
        build = {'tfa': peer_tfa, 'sentence-transformers': peer_sentence_transformers, 'pml': peer_pml}[args.peer]
        step, out['version'], out['note'] = build(emb, lab, args)
        out['rss_before_mib'] = round(rss_mib('current'), 1)
        loss, ms = timed(step, args.repeats)
        out['loss'] = loss
        out['median_ms'] = round(ms, 3)
        out['repeats'] = args.repeats
    except BaseException as e:  # noqa: BLE001 -- report, do not crash: the driver records it
        msg = ' '.join(f'{type(e).__name__}: {e}'.split())
        at = msg.find('OOM when allocating')  # TF: the useful line is buried under a traceback
        if at > 0:
            msg = f'{type(e).__name__}: {msg[at:]}'
        low = msg.lower()
        oom = isinstance(e, MemoryError) or any(
            s in low for s in ('resourceexhausted', 'oom when allocating', "can't allocate memory",
                               'out of memory', 'bad_alloc', 'cannot allocate memory'))
        out['error'] = 'OOM' if oom else 'error'
        out['message'] = msg[:500]
    out['peak_rss_mib'] = round(rss_mib('peak'), 1)
    sys.stdout.write(json.dumps(out) + '\n')
    sys.stdout.flush()
    return 0 if 'error' not in out else 3


if __name__ == '__main__':
    sys.exit(main())
