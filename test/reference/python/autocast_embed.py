# The README's Python lines (the export-python block, given as a file) run on an exportModel
# file under torch.autocast on the CPU, as semihard's `precision` runs its forward:
#
#   autocast_embed.py README_BLOCK.py MODEL.safetensors IMAGES.bin N C H W PRECISION OUT.bin
#
# IMAGES.bin: N x C x H x W float32 in [0, 1] at the network's size; PRECISION: fp32, bf16 or
# fp16; OUT.bin: the N x dim embeddings (float32). semihard normalises the head's linear output
# in float32 whatever the precision (native/core/embedding_head.cc): the head here does too.
import sys

import numpy as np
import torch

block, model_file, images_file, n, c, h, w, precision, out_file = sys.argv[1:10]
scope = {}
exec(compile(open(block).read(), 'README.md', 'exec'), scope)


def forward(self, maps):
    x = maps.mean((2, 3))
    if self.pool == 'concat':
        x = torch.cat([x, maps.amax((2, 3))], 1)
    return torch.nn.functional.normalize(self.linear(self.drop(self.bn(x))).float(), dim=1)


scope['Head'].forward = forward
model, arch = scope['load_semihard'](model_file)
images = torch.from_numpy(np.fromfile(images_file, dtype=np.float32).reshape(int(n), int(c), int(h), int(w)))
dtype = {'bf16': torch.bfloat16, 'fp16': torch.float16}.get(precision)
with torch.autocast('cpu', dtype=dtype or torch.bfloat16, enabled=dtype is not None):
    embeddings = scope['embed'](model, arch, images)
embeddings.float().numpy().astype(np.float32).tofile(out_file)
