# Makes the weight files test/weight-file.test.ts reads, with PyTorch's own writers, and the
# values they must give:
#
#   make_weight_files.py OUT_DIR
#
# Good files (torch.save and safetensors.torch.save_file, as torchvision and timm keep them):
#   resnet18.pth           torchvision resnet18 (torch.manual_seed(0)) state_dict: an OrderedDict with _metadata
#   wrapped_state_dict.pth {'state_dict': that, 'epoch': 3, 'arch': 'resnet18', 'lr': 0.1}
#   wrapped_model.pth      {'model': that, 'best': [1.5, None, True]}
#   plain_dict.pth         dict(that)
#   dtypes.pth             float16, bfloat16, float64, int64, int32, int16, int8, uint8, bool
#                          tensors, a 0-d and an empty one, and views sharing one storage
#                          (a transpose, a strided slice, an expand with stride 0)
#   parameters.pth         {'p': nn.Parameter, 'q': tensor} (torch._utils._rebuild_parameter)
#   protocol4.pth          dtypes.pth's tensors saved with pickle_protocol=4
#   resnet18.safetensors   safetensors.torch.save_file(resnet18's state_dict, metadata={'format': 'pt', 'arch': 'resnet18'})
# Bad files:
#   truncated.pth          resnet18.pth cut in the middle
#   system.pth             a value whose __reduce__ is (os.system, ('touch OUT_DIR/pwned',))
#   eval.pth               a value whose __reduce__ is (builtins.eval, ('open(OUT_DIR/pwned, "w")',))
#   short_storage.pth      a valid file whose storage record data/0 is cut to 8 bytes
#   not_tensor.pth         {'w': tensor, 'note': 'hello'}
#   legacy.pth             torch.save(..., _use_new_zipfile_serialization=False)
#   reach.pth              a tensor whose view (offset 10, size 4, stride 2) reaches past its 16-element storage
#   opcode.pth             a valid zip whose data.pkl is pickle.dumps({'w': {1, 2}}, protocol=4) (EMPTY_SET)
#   mutated/0..199.pth     dtypes.pth with its data.pkl damaged at random (seeded)
# OUT_DIR/index.json: {file: {bin, tensors: [{name, dtype, shape, offset, length}], metadata}}
# for the good files, where OUT_DIR/<bin> holds each tensor's bytes (t.contiguous() as numpy's
# tobytes(); bfloat16 through .view(torch.int16)) at offset; dtype in semihard's names.
import collections
import json
import os
import pickle
import random
import sys
import warnings
import zipfile

import torch
import torchvision
from safetensors.torch import save_file

NAMES = {
    torch.float32: 'float32', torch.float64: 'float64', torch.float16: 'float16', torch.bfloat16: 'bfloat16',
    torch.int64: 'int64', torch.int32: 'int32', torch.int16: 'int16', torch.int8: 'int8', torch.uint8: 'uint8',
    torch.bool: 'bool',
}

out = sys.argv[1]
MUTATIONS = 200
os.makedirs(out, exist_ok=True)
index = {}


def raw(t):
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def expect(file, state, metadata=None, same_as=None):
    if same_as is not None:
        index[file] = dict(index[same_as], metadata=metadata or {})
        return
    entries = []
    with open(os.path.join(out, file + '.bin'), 'wb') as f:
        offset = 0
        for name, t in state.items():
            b = raw(t)
            f.write(b)
            entries.append({'name': name, 'dtype': NAMES[t.dtype], 'shape': list(t.shape), 'offset': offset, 'length': len(b)})
            offset += len(b)
    index[file] = {'bin': file + '.bin', 'tensors': entries, 'metadata': metadata or {}}


def path(file):
    return os.path.join(out, file)


torch.manual_seed(0)
sd = torchvision.models.resnet18().state_dict()
assert isinstance(sd, collections.OrderedDict) and hasattr(sd, '_metadata')
torch.save(sd, path('resnet18.pth'))
expect('resnet18.pth', sd)
torch.save({'state_dict': sd, 'epoch': 3, 'arch': 'resnet18', 'lr': 0.1}, path('wrapped_state_dict.pth'))
expect('wrapped_state_dict.pth', sd, same_as='resnet18.pth')
torch.save({'model': sd, 'best': [1.5, None, True]}, path('wrapped_model.pth'))
expect('wrapped_model.pth', sd, same_as='resnet18.pth')
torch.save(dict(sd), path('plain_dict.pth'))
expect('plain_dict.pth', sd, same_as='resnet18.pth')
meta = {'format': 'pt', 'arch': 'resnet18'}
save_file(sd, path('resnet18.safetensors'), metadata=meta)
expect('resnet18.safetensors', sd, meta, same_as='resnet18.pth')

g = torch.Generator().manual_seed(1)
base = torch.randn(4, 6, generator=g)
dtypes = collections.OrderedDict()
dtypes['half'] = torch.randn(3, 5, generator=g).half()
dtypes['bf16'] = torch.randn(7, generator=g).bfloat16()
dtypes['double'] = torch.randn(2, 2, generator=g).double()
dtypes['long'] = torch.tensor([-(2**62), -1, 0, 2**40 + 7], dtype=torch.int64)
dtypes['int'] = torch.tensor([-(2**31), 5, 2**31 - 1], dtype=torch.int32)
dtypes['short'] = torch.tensor([-32768, 12, 32767], dtype=torch.int16)
dtypes['char'] = torch.tensor([-128, 0, 127], dtype=torch.int8)
dtypes['byte'] = torch.tensor([0, 200, 255], dtype=torch.uint8)
dtypes['flag'] = torch.tensor([True, False, True])
dtypes['scalar'] = torch.tensor(2.5)
dtypes['empty'] = torch.zeros(0, 3)
dtypes['base'] = base
dtypes['transposed'] = base.t()
dtypes['sliced'] = base[1:3, ::2]
dtypes['expanded'] = base[0, :1].expand(3, 4)
torch.save(dtypes, path('dtypes.pth'))
expect('dtypes.pth', dtypes)
torch.save(dtypes, path('protocol4.pth'), pickle_protocol=4)
expect('protocol4.pth', dtypes, same_as='dtypes.pth')
params = {'p': torch.nn.Parameter(torch.randn(2, 3, generator=g)), 'q': torch.arange(4)}
torch.save(params, path('parameters.pth'))
expect('parameters.pth', params)

with open(path('resnet18.pth'), 'rb') as f:
    whole = f.read()
with open(path('truncated.pth'), 'wb') as f:
    f.write(whole[: len(whole) // 2])


class System:
    def __reduce__(self):
        return (os.system, ('touch ' + path('pwned'),))


class Eval:
    def __reduce__(self):
        return (eval, ('open(%r, "w")' % path('pwned'),))


torch.save({'w': torch.ones(2), 'x': System()}, path('system.pth'))
torch.save({'w': torch.ones(2), 'x': Eval()}, path('eval.pth'))
torch.save({'w': torch.ones(2), 'note': 'hello'}, path('not_tensor.pth'))
torch.save({'w': torch.ones(2)}, path('legacy.pth'), _use_new_zipfile_serialization=False)

torch.save({'w': torch.arange(16, dtype=torch.float32)}, path('long_storage.pth'))
with zipfile.ZipFile(path('long_storage.pth')) as src, zipfile.ZipFile(path('short_storage.pth'), 'w', zipfile.ZIP_STORED) as dst:
    for info in src.infolist():
        data = src.read(info.filename)
        dst.writestr(info.filename, data[:8] if info.filename.endswith('/data/0') else data)


class Reach:
    # A view of a 16-element storage reaching element 10 + 3 * 2 = 16: one past its end.
    def __init__(self, storage):
        self.storage = storage

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, (self.storage, 10, (4,), (2,), False, collections.OrderedDict()))


with warnings.catch_warnings():
    warnings.simplefilter('ignore')  # TypedStorage is deprecated
    torch.save({'w': Reach(torch.arange(16, dtype=torch.float32).storage())}, path('reach.pth'))

# A state_dict pickle that uses an opcode a state_dict never needs (protocol 4's EMPTY_SET).
with zipfile.ZipFile(path('long_storage.pth')) as src, zipfile.ZipFile(path('opcode.pth'), 'w', zipfile.ZIP_STORED) as dst:
    for info in src.infolist():
        data = src.read(info.filename)
        dst.writestr(info.filename, pickle.dumps({'w': {1, 2}}, protocol=4) if info.filename.endswith('/data.pkl') else data)
os.remove(path('long_storage.pth'))

# mutated/<k>.pth: dtypes.pth with its data.pkl damaged (bytes overwritten, cut, a span removed,
# random bytes inserted; random.Random(0)), for a reader that must reject without crashing.
os.makedirs(path('mutated'))
with zipfile.ZipFile(path('dtypes.pth')) as src:
    records = [(info.filename, src.read(info.filename)) for info in src.infolist()]
pkl = next(data for name, data in records if name.endswith('/data.pkl'))
rnd = random.Random(0)
for k in range(MUTATIONS):
    b = bytearray(pkl)
    if k % 4 == 0:
        for _ in range(rnd.randint(1, 4)):
            b[rnd.randrange(len(b))] = rnd.randrange(256)
    elif k % 4 == 1:
        b = b[: rnd.randrange(len(b))]
    elif k % 4 == 2:
        i, j = rnd.randrange(len(b)), rnd.randrange(len(b))
        b = b[:i] + b[j:]
    else:
        i = rnd.randrange(len(b))
        b = b[:i] + bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 8))) + b[i:]
    with zipfile.ZipFile(path('mutated/%d.pth' % k), 'w', zipfile.ZIP_STORED) as dst:
        for name, data in records:
            dst.writestr(name, bytes(b) if name.endswith('/data.pkl') else data)

with open(path('index.json'), 'w') as f:
    json.dump(index, f)
