# Runs the README's Python lines (the block between <!-- export-python:start/end -->, given as
# a file) on an exportModel file, as a user would, and reports what the tests compare:
#
#   load_export.py README_BLOCK.py MODEL.safetensors IMAGES.bin N C H W OUT.bin [ORIGINAL.pth]
#
# IMAGES.bin: N x C x H x W float32 in [0, 1] at the network's size; OUT.bin: the N x dim
# embeddings (float32) of `embed(model, arch, images)`. Stdout: JSON with the description's
# imageSize and, given the .pth the run started from, which of its tensors (fc.* aside) the
# export holds bit for bit ('same') and which it holds changed ('changed').
import json
import sys

import numpy as np
import torch

block, model_file, images_file, n, c, h, w, out_file = sys.argv[1:9]
original = sys.argv[9] if len(sys.argv) > 9 else None
scope = {}
exec(compile(open(block).read(), 'README.md', 'exec'), scope)
model, arch = scope['load_semihard'](model_file)
images = torch.from_numpy(np.fromfile(images_file, dtype=np.float32).reshape(int(n), int(c), int(h), int(w)))
embeddings = scope['embed'](model, arch, images)
embeddings.numpy().astype(np.float32).tofile(out_file)
report = {'imageSize': arch['imageSize'], 'dim': arch['dim'], 'same': [], 'changed': []}
if original:
    from safetensors.torch import load_file
    exported = load_file(model_file)
    for name, t in torch.load(original, weights_only=True).items():
        if name.startswith('fc.'):
            continue
        report['same' if torch.equal(exported[name], t) else 'changed'].append(name)
print(json.dumps(report))
