#!/usr/bin/env python3
"""The table of scripts/gpu-check.sh, from what its steps wrote to OUT (loss.txt,
loss-large.txt, train.txt): markdown, to paste into docs/benchmarks.md.

    python3 scripts/gpu/summary.py OUT
"""
import os
import re
import sys


def read(path):
    return open(path).read().splitlines() if os.path.exists(path) else []


def loss_tables(lines):
    files, sizes, verdicts, calls = [], [], [], []
    for line in lines:
        cells = line.split()
        if line.startswith("train-call "):
            calls.append(line.strip())
            continue
        if re.match(r"^tfa-\S+\.json$", cells[0] if cells else "") and len(cells) == 7:
            files.append(cells)
        elif len(cells) == 10 and cells[0].isdigit():
            sizes.append(cells)
        elif line.strip() in ("PASS", "FAIL"):
            verdicts.append(line.strip())
        elif line.startswith("device="):
            verdicts.append(line.strip())
    return files, sizes, verdicts, calls


def main(out):
    lines = read(os.path.join(out, "loss.txt")) + read(os.path.join(out, "loss-large.txt"))
    files, sizes, verdicts, calls = loss_tables(lines)
    print("### Losses: the device's tensor miners against the CPU miners\n")
    print("; ".join(verdicts) or "(no loss output)")
    if files:
        print("\n| fixtures | cases | ok | near-tie flips | mismatches | max rel. Δloss | max abs. Δgrad |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for f in files:
            print("| " + " | ".join(f) + " |")
    if sizes:
        print("\n| B | Gram ms | semi-hard ms | ratio | peak MiB | hard ms | ratio | peak MiB | max Δloss vs CPU | max Δgrad vs CPU |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for s in sizes:
            print("| " + " | ".join(s) + " |")
    ratios = [float(r[3]) for r in sizes] + [float(r[6]) for r in sizes]
    if ratios:
        worst = max(ratios)
        print(f"\nGoal: each loss <= 2x one Gram product: {'met' if worst <= 2 else 'MISSED'} (worst {worst:.2f}x)")
    if calls:
        print("\nThe training call (the trainer's loss: no read inside; on CUDA run under the sync debug mode set to error):\n")
        for c in calls:
            print(f"- {c}")
    runs = {}
    for line in read(os.path.join(out, "train.txt")):
        side, _, rest = line.partition(" RESULT ")
        fields = dict(kv.split("=", 1) for kv in rest.split())
        runs[(side, fields.get("precision"))] = float(fields["images_per_s"])
    print("\n### Training throughput: ResNet-18, Fashion-MNIST, images/s (goal: semihard / PyTorch >= 1.0)\n")
    if not runs:
        print("(no training output)")
        return
    goals = []
    print("| precision | semihard | PyTorch | semihard / PyTorch |")
    print("|---|---:|---:|---:|")
    for precision in ("fp32", "bf16", "fp16"):
        ours, theirs = runs.get(("semihard", precision)), runs.get(("pytorch", precision))
        if ours is None and theirs is None:
            continue
        ratio = f"{ours / theirs:.2f}" if ours and theirs else "n/a"
        print(f"| {precision} | {ours or 'n/a'} | {theirs or 'n/a'} | {ratio} |")
        if ours and theirs:
            goals.append((precision, ours / theirs))
    syncs = [line.strip() for line in read(os.path.join(out, "syncs.txt")) if line.strip()]
    if syncs:
        print("\nsemihard's training step under CUDA's sync debug mode set to error (3 steps after the timed ones;"
              " fp16's scaler reads one flag a step by design):\n")
        for line in syncs:
            precision, _, rest = line.partition(" ")
            print(f"- {precision}: {rest.replace('SYNCS ', '', 1) or '(no line)'}")
    for precision, ratio in goals:
        print(f"\nGoal {precision}: semihard / PyTorch >= 1.0: {'met' if ratio >= 1 else 'MISSED'} ({ratio:.2f})")
    for side in ("semihard", "pytorch"):
        a, b = runs.get((side, "bf16")), runs.get((side, "fp32"))
        if a and b:
            print(f"\n{side}: bf16 / fp32 = {a / b:.2f}")


if __name__ == "__main__":
    main(sys.argv[1])
