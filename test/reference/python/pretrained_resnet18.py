# Makes the pretrained weight file test/train.pretrained.test.ts trains from:
#
#   pretrained_resnet18.py OUT_DIR
#
# OUT_DIR/resnet18.pth: torch.save of torchvision.models.resnet18()'s state_dict (random
# weights after torch.manual_seed(0)), as torchvision's own files are saved; and, to compare
# with without reading the .pth, OUT_DIR/index.json [{name, dtype, shape, file}] with one raw
# little-endian C-order file per tensor (OUT_DIR/raw/<name>.bin).
import json
import os
import sys

import torch
import torchvision

out_dir = sys.argv[1]
os.makedirs(os.path.join(out_dir, 'raw'), exist_ok=True)
torch.manual_seed(0)
state = torchvision.models.resnet18().state_dict()
torch.save(state, os.path.join(out_dir, 'resnet18.pth'))
index = []
for name, t in state.items():
    file = os.path.join('raw', name + '.bin')
    with open(os.path.join(out_dir, file), 'wb') as f:
        f.write(t.contiguous().numpy().tobytes())
    index.append({'name': name, 'dtype': {torch.float32: 'float32', torch.int64: 'int64'}[t.dtype], 'shape': list(t.shape), 'file': file})
with open(os.path.join(out_dir, 'index.json'), 'w') as f:
    json.dump(index, f)
