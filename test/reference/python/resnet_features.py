# Makes the torchvision ResNet references test/model-architecture.test.ts compares with:
#
#   resnet_features.py OUT_DIR SEED N SIZE
#
# OUT_DIR/keys.json: {resnet18|resnet34|resnet50: [[key, shape], ...]}, the keys and shapes of
# torchvision.models.resnetXX().state_dict() in its order. Then for each ARCH of the three,
# OUT_DIR/ARCH/: torchvision's ARCH with random weights (torch.manual_seed(SEED)), its BatchNorm
# weights, biases and running statistics set to random values (so that eval mode's arithmetic
# uses them), in eval mode, and an input N x 3 x SIZE x SIZE of standard normal values from a
# torch.Generator seeded with SEED + 1; index.json {tensors: [{name, dtype, shape, file}], input,
# avg, concat} and one raw little-endian C-order file per tensor of the state_dict, the input
# (float32), and the pooled features before fc (avg: adaptive average, torchvision's avgpool;
# concat: [adaptive average, adaptive max], the avg ⊕ max; fastai's AdaptiveConcatPool2d
# puts max first), float32. The same state_dict as users' files hold it: OUT_DIR/ARCH/ARCH.pth
# (torch.save of the state_dict, an OrderedDict with _metadata, as torchvision's own files) and,
# for resnet18, OUT_DIR/resnet18/resnet18.safetensors (safetensors.torch.save_file).
import json
import os
import sys

import torch
import torchvision

DTYPES = {torch.float32: 'float32', torch.int64: 'int64'}


def keys():
    out = {}
    for arch in ('resnet18', 'resnet34', 'resnet50'):
        model = getattr(torchvision.models, arch)()
        out[arch] = [[k, list(v.shape)] for k, v in model.state_dict().items()]
    return out


def features(arch, seed, n, size, out_dir):
    torch.manual_seed(seed)
    model = getattr(torchvision.models, arch)()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
    model.eval()
    generator = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(n, 3, size, size, generator=generator)
    with torch.no_grad():
        body = torch.nn.Sequential(*list(model.children())[:-2])
        fmap = body(x)
        avg = torch.nn.functional.adaptive_avg_pool2d(fmap, 1).flatten(1)
        mx = torch.nn.functional.adaptive_max_pool2d(fmap, 1).flatten(1)
        # torchvision's own path to the pooled features (its avgpool), as a check of `body`.
        assert torch.equal(avg, torch.flatten(model.avgpool(fmap), 1))
    os.makedirs(out_dir, exist_ok=True)
    index = {'tensors': []}

    def write(name, t):
        t = t.detach().contiguous()
        file = name.replace('/', '_') + '.bin'
        with open(os.path.join(out_dir, file), 'wb') as f:
            f.write(t.numpy().tobytes())
        return {'name': name, 'dtype': DTYPES[t.dtype], 'shape': list(t.shape), 'file': file}

    for k, v in model.state_dict().items():
        index['tensors'].append(write(k, v))
    torch.save(model.state_dict(), os.path.join(out_dir, arch + '.pth'))
    if arch == 'resnet18':
        from safetensors.torch import save_file
        save_file(model.state_dict(), os.path.join(out_dir, arch + '.safetensors'))
    index['input'] = write('input', x)
    index['avg'] = write('avg', avg)
    index['concat'] = write('concat', torch.cat([avg, mx], 1))
    with open(os.path.join(out_dir, 'index.json'), 'w') as f:
        json.dump(index, f)


if __name__ == '__main__':
    out_dir, seed, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, 'keys.json'), 'w') as f:
        json.dump(keys(), f)
    for arch in ('resnet18', 'resnet34', 'resnet50'):
        features(arch, seed, n, size, os.path.join(out_dir, arch))
