// Weight files as PyTorch writes them (torch.save's .pth, safetensors.torch.save_file), read
// by readWeightFile/readSafetensors and compared bit for bit with the bytes Python gives for each
// tensor; writeSafetensors' files read back by Python's safetensors; bad and hostile files
// refused with errors naming the file and what is wrong. Every file is made at test time by
// test/reference/python/make_weight_files.py.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SemihardError, readSafetensors, readWeightFile, weightFileFormat, writeSafetensors, type NamedTensor } from '../lib/index';
import type { NativeBinding } from '../binding';
import { addonPath } from '../lib/binding';
import { expectSemihardError } from './helpers/expect';
import { referencePython, referenceScripts, runPython } from './helpers/torch-reference';

interface Reference {
  bin: string;
  tensors: { name: string; dtype: string; shape: number[]; offset: number; length: number }[];
  metadata: Record<string, string>;
}

let dir: string;
let index: Record<string, Reference>;

beforeAll(() => {
  referencePython();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'semihard-weights-'));
  runPython([path.join(referenceScripts, 'make_weight_files.py'), dir]);
  index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')) as Record<string, Reference>;
}, 300_000);

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const file = (name: string): string => path.join(dir, name);

/** Names, dtypes, shapes and every byte as Python gave them; `inOrder`: also in its order. */
function expectAsPython(actual: NamedTensor[], reference: Reference, inOrder: boolean): void {
  const bytes = fs.readFileSync(path.join(dir, reference.bin));
  const names = actual.map((t) => t.name);
  const expectedNames = reference.tensors.map((t) => t.name);
  expect(inOrder ? names : [...names].sort()).toEqual(inOrder ? expectedNames : [...expectedNames].sort());
  const byName = new Map(actual.map((t) => [t.name, t]));
  const differing: string[] = [];
  for (const r of reference.tensors) {
    const t = byName.get(r.name)!;
    expect({ name: t.name, dtype: t.dtype, shape: t.shape }).toEqual({ name: r.name, dtype: r.dtype, shape: r.shape });
    if (Buffer.compare(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength), bytes.subarray(r.offset, r.offset + r.length)) !== 0) {
      differing.push(r.name);
    }
  }
  expect(differing).toEqual([]);
}

describe('reading PyTorch files', () => {
  test.each([
    ['resnet18.pth', "torch.save(resnet18().state_dict()): an OrderedDict with _metadata"],
    ['wrapped_state_dict.pth', "{'state_dict': sd, 'epoch', 'arch', 'lr'}"],
    ['wrapped_model.pth', "{'model': sd, 'best': [...]}"],
    ['plain_dict.pth', 'a plain dict'],
    ['dtypes.pth', 'every dtype, a 0-d and an empty tensor, transposed/sliced/expanded views of one storage'],
    ['protocol4.pth', 'pickle protocol 4'],
    ['parameters.pth', 'an nn.Parameter among tensors'],
  ])('%s (%s): every tensor as Python has it, in its order', async (name) => {
    expectAsPython(await readWeightFile(file(name)), index[name], true);
  });

  test('resnet18.safetensors from safetensors.torch.save_file: every tensor and the metadata', async () => {
    const reference = index['resnet18.safetensors'];
    expectAsPython(await readWeightFile(file('resnet18.safetensors')), reference, false);
    const content = await readSafetensors(file('resnet18.safetensors'));
    expectAsPython(content.tensors, reference, false);
    expect(content.metadata).toEqual({ format: 'pt', arch: 'resnet18' });
  });

  test('the format is told by content, not by the extension', async () => {
    fs.copyFileSync(file('resnet18.safetensors'), file('renamed.pth'));
    fs.copyFileSync(file('dtypes.pth'), file('renamed.safetensors'));
    expect(await weightFileFormat(file('renamed.pth'))).toBe('safetensors');
    expect(await weightFileFormat(file('renamed.safetensors'))).toBe('pth');
    expectAsPython(await readWeightFile(file('renamed.pth')), index['resnet18.safetensors'], false);
    expectAsPython(await readWeightFile(file('renamed.safetensors')), index['dtypes.pth'], true);
  });
});

describe('refused PyTorch files', () => {
  test('a pickle calling os.system through __reduce__: refused by name, nothing executed', async () => {
    const f = file('system.pth');
    await expectSemihardError(
      readWeightFile(f),
      'ERR_SEMIHARD_WEIGHTS',
      new RegExp(`^${escape(f)}: the pickle \\(data\\.pkl\\) refuses the global (posix|os)\\.system .*nothing was executed`),
    );
    expect(fs.existsSync(file('pwned'))).toBe(false);
  });

  test('a pickle calling builtins.eval: refused by name, nothing executed', async () => {
    const f = file('eval.pth');
    await expectSemihardError(readWeightFile(f), 'ERR_SEMIHARD_WEIGHTS', new RegExp(`^${escape(f)}: .*refuses the global (__builtin__|builtins)\\.eval `));
    expect(fs.existsSync(file('pwned'))).toBe(false);
  });

  test.each([
    ['truncated.pth', 'is not a readable PyTorch zip archive \\(truncated or corrupt\\?\\)'],
    ['short_storage.pth', 'has a storage record data/0 of 8 bytes, shorter than its 16 elements of Float need'],
    ['reach.pth', "gives the tensor 'w' a view \\(offset 10, sizes \\[4\\], strides \\[2\\]\\) that reaches element 16 of a storage of 16"],
    ['not_tensor.pth', ": the state_dict's value for 'note' is a str, not a tensor"],
    ['opcode.pth', ': the pickle \\(data\\.pkl\\) uses the opcode EMPTY_SET \\(0x8f\\), which a state_dict does not need; refused'],
    ['legacy.pth', " is a bare pickle \\(torch.save's legacy format from before PyTorch 1\\.6\\), which is not read; re-save it"],
  ])('%s: an error naming the file and what is wrong', async (name, message) => {
    const f = file(name);
    await expectSemihardError(readWeightFile(f), 'ERR_SEMIHARD_WEIGHTS', new RegExp(`^${escape(f)} ?${message}`));
  });

  test('a text file, an empty file and a missing file', async () => {
    fs.writeFileSync(file('notes.txt'), 'these are not weights\n');
    fs.writeFileSync(file('empty.pth'), '');
    await expectSemihardError(readWeightFile(file('notes.txt')), 'ERR_SEMIHARD_WEIGHTS', `${file('notes.txt')} is neither a PyTorch .pth (zip) nor a .safetensors file`);
    await expectSemihardError(readWeightFile(file('empty.pth')), 'ERR_SEMIHARD_WEIGHTS', `${file('empty.pth')} is empty: it is neither a PyTorch .pth (zip) nor a .safetensors file`);
    await expectSemihardError(readWeightFile(file('missing.pth')), 'ERR_SEMIHARD_WEIGHTS', new RegExp(`^${escape(file('missing.pth'))} cannot be read: ENOENT`));
  });

  test('200 randomly damaged pickles: each read or refused with an error naming its file, never a crash', async () => {
    const outcomes = { read: 0, refused: 0 };
    for (let k = 0; k < 200; k++) {
      const f = file(`mutated/${k}.pth`);
      const result = await readWeightFile(f).then(
        (tensors) => tensors,
        (e: unknown) => e,
      );
      if (Array.isArray(result)) {
        outcomes.read++;
      } else {
        expect(result).toBeInstanceOf(SemihardError);
        expect((result as SemihardError).code).toBe('ERR_SEMIHARD_WEIGHTS');
        expect((result as SemihardError).message.startsWith(f)).toBe(true);
        outcomes.refused++;
      }
    }
    expect(outcomes.refused).toBeGreaterThan(150);
  });

  test("the raw addon's readTorchFile guards its argument itself", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const addon = require(addonPath()) as NativeBinding;
    expect(() => addon.readTorchFile(3 as unknown as string)).toThrow(
      expect.objectContaining({ name: 'TypeError', argument: 'path', message: 'Expected a string for path' }),
    );
  });

  test('a file argument that is not a path string is a TypeError', async () => {
    await expect(readWeightFile(3 as unknown as string)).rejects.toThrow(new TypeError('Expected a path string for file but received 3 of type number'));
    await expect(readSafetensors('' as string)).rejects.toThrow(new TypeError("Expected a path string for file but received '' of type string"));
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A safetensors file from a header object and data bytes, written by hand. */
function craft(name: string, header: unknown, data: Uint8Array): string {
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  fs.writeFileSync(file(name), Buffer.concat([length, json, data]));
  return file(name);
}

describe('refused safetensors files', () => {
  const f32 = (shape: number[], begin: number, end: number) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });
  test.each([
    ['past.safetensors', { a: f32([4], 0, 16) }, 12, "the tensor 'a' has data_offsets [0, 16] that run past the file's 12 bytes of data (truncated?)"],
    ['overlap.safetensors', { a: f32([2], 0, 8), b: f32([2], 4, 12) }, 12, "the tensors 'a' and 'b' overlap (data_offsets [0, 8] and [4, 12])"],
    ['dtype.safetensors', { a: { dtype: 'F8_E4M3', shape: [2], data_offsets: [0, 2] } }, 2, `the tensor 'a' has the dtype "F8_E4M3"; known: F32, F64, F16, BF16, I64, I32, I16, I8, U8, BOOL`],
    ['size.safetensors', { a: f32([3], 0, 8) }, 8, "the tensor 'a' (F32 [3]) needs 12 bytes but its data_offsets [0, 8] span 8"],
    ['shape.safetensors', { a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4, "the tensor 'a' has the shape [-1], not an array of non-negative integers"],
    ['hole.safetensors', { a: f32([1], 0, 4), b: f32([1], 8, 12) }, 12, 'leaves the data bytes [4, 8) to no tensor (safetensors allows no holes)'],
    ['metadata.safetensors', { __metadata__: { n: 1 } }, 0, 'has a "__metadata__" that is not an object of strings'],
  ])('%s: an error naming the file and the tensor', async (name, header, dataBytes, message) => {
    const f = craft(name, header, new Uint8Array(dataBytes));
    await expectSemihardError(readWeightFile(f), 'ERR_SEMIHARD_WEIGHTS', `${f}: ${message}`);
  });

  test('a header length past the end of the file', async () => {
    const f = file('long-header.safetensors');
    const bytes = Buffer.alloc(20, 0x20);
    bytes.writeBigUInt64LE(1000n);
    bytes[8] = 0x7b;
    fs.writeFileSync(f, bytes);
    await expectSemihardError(readWeightFile(f), 'ERR_SEMIHARD_WEIGHTS', `${f}: declares a header of 1000 bytes but holds only 12 after its length (truncated?)`);
  });
});

// Reads a .safetensors with Python's safetensors and prints its tensors (dtype, shape, bytes as
// hex) and metadata; re-saves them with save_file into argv[2] (when given) with that metadata.
const PYTHON_READ = `
import json, sys, torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
names = {torch.float32: 'float32', torch.float64: 'float64', torch.float16: 'float16', torch.bfloat16: 'bfloat16',
         torch.int64: 'int64', torch.int32: 'int32', torch.int16: 'int16', torch.int8: 'int8', torch.uint8: 'uint8', torch.bool: 'bool'}
tensors = load_file(sys.argv[1])
with safe_open(sys.argv[1], framework='pt') as f:
    metadata = f.metadata()
def raw(t):
    t = t.contiguous()
    return (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes().hex()
print(json.dumps({'tensors': {k: {'dtype': names[t.dtype], 'shape': list(t.shape), 'hex': raw(t)} for k, t in tensors.items()}, 'metadata': metadata}))
if len(sys.argv) > 2:
    save_file(tensors, sys.argv[2], metadata=metadata)
`;

/** Deterministic bytes (a multiplicative hash of the index) for a tensor. */
function tensor(name: string, dtype: NamedTensor['dtype'], shape: number[], bytesPerElement: number): NamedTensor {
  const length = shape.reduce((a, d) => a * d, bytesPerElement);
  const data = new Uint8Array(length);
  for (let i = 0; i < length; i++) data[i] = dtype === 'bool' ? (i * 7) % 3 === 0 ? 1 : 0 : (i * 2654435761) >>> 24;
  return { name, dtype, shape, data };
}

describe('writeSafetensors', () => {
  const tensors: NamedTensor[] = [
    tensor('layer.weight', 'float32', [3, 4], 4),
    tensor('double', 'float64', [2], 8),
    tensor('half', 'float16', [5], 2),
    tensor('brain', 'bfloat16', [2, 3], 2),
    tensor('count', 'int64', [], 8),
    tensor('int', 'int32', [3], 4),
    tensor('short', 'int16', [1], 2),
    tensor('char', 'int8', [4], 1),
    tensor('byte', 'uint8', [2, 2], 1),
    tensor('flags', 'bool', [5], 1),
    tensor('empty', 'float32', [0, 7], 4),
    tensor('0', 'float32', [1], 4),
    tensor('tête', 'float32', [2], 4),
  ];

  test("Python's safetensors reads every tensor and the metadata back", async () => {
    const f = file('ours.safetensors');
    const metadata = { arch: 'resnet18', imageSize: '224', note: 'é "quoted"' };
    await writeSafetensors(f, tensors, metadata);
    const read = JSON.parse(runPython(['-c', PYTHON_READ, f])) as {
      tensors: Record<string, { dtype: string; shape: number[]; hex: string }>;
      metadata: Record<string, string>;
    };
    expect(read.metadata).toEqual(metadata);
    expect(Object.keys(read.tensors).sort()).toEqual(tensors.map((t) => t.name).sort());
    for (const t of tensors) {
      expect(read.tensors[t.name]).toEqual({ dtype: t.dtype, shape: t.shape, hex: Buffer.from(t.data).toString('hex') });
    }
  });

  test('the file is byte for byte what safetensors.torch.save_file writes for the same tensors', async () => {
    // One metadata key: save_file writes several in its hash map's order.
    const ours = file('ours-one-key.safetensors');
    const theirs = file('theirs.safetensors');
    await writeSafetensors(ours, tensors, { arch: 'resnet18' });
    runPython(['-c', PYTHON_READ, ours, theirs]);
    expect(Buffer.compare(fs.readFileSync(ours), fs.readFileSync(theirs))).toBe(0);
  });

  test('no metadata, no tensors: the 8-byte-padded empty header', async () => {
    await writeSafetensors(file('none.safetensors'), []);
    expect(fs.readFileSync(file('none.safetensors'))).toEqual(Buffer.concat([Buffer.from([8, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{}      ')]));
  });

  const good = (): NamedTensor => ({ name: 'w', dtype: 'float32', shape: [2], data: new Uint8Array(8) });
  test.each([
    ['file', () => writeSafetensors('', [good()]), TypeError, "Expected a path string for file but received '' of type string"],
    ['tensors', () => writeSafetensors(file('x'), {} as NamedTensor[]), TypeError, 'Expected an array of { name, dtype, shape, data } for tensors but received an object ([object Object])'],
    ['tensors[0]', () => writeSafetensors(file('x'), [null as unknown as NamedTensor]), TypeError, 'Expected an object { name, dtype, shape, data } for tensors[0] but received null'],
    ['name', () => writeSafetensors(file('x'), [{ ...good(), name: 1 as unknown as string }]), TypeError, 'Expected a string for tensors[0].name but received 1 of type number'],
    ['name', () => writeSafetensors(file('x'), [{ ...good(), name: '__metadata__' }]), RangeError, "Expected a tensor name other than '' and '__metadata__' for tensors[0].name but received '__metadata__' of type string"],
    ['name', () => writeSafetensors(file('x'), [good(), good()]), RangeError, "Expected a name no other tensor has for tensors[1].name but received 'w' of type string"],
    ['dtype', () => writeSafetensors(file('x'), [{ ...good(), dtype: 'complex64' as 'float32' }]), RangeError, "Expected one of float32, float64, float16, bfloat16, int64, int32, int16, int8, uint8, bool for tensors[0].dtype but received 'complex64' of type string"],
    ['shape', () => writeSafetensors(file('x'), [{ ...good(), shape: 2 as unknown as number[] }]), TypeError, 'Expected an array of non-negative integers for tensors[0].shape but received 2 of type number'],
    ['shape', () => writeSafetensors(file('x'), [{ ...good(), shape: [2.5] }]), RangeError, 'Expected an array of non-negative integers for tensors[0].shape but received an Array of length 1'],
    ['data', () => writeSafetensors(file('x'), [{ ...good(), data: new Float32Array(2) as unknown as Uint8Array }]), TypeError, 'Expected a Uint8Array for tensors[0].data but received a Float32Array of length 2'],
    ['data', () => writeSafetensors(file('x'), [{ ...good(), data: new Uint8Array(7) }]), RangeError, 'Expected tensors[0].data to hold 8 bytes (float32 [2]) but it holds 7'],
    ['metadata', () => writeSafetensors(file('x'), [good()], 'm' as unknown as Record<string, string>), TypeError, "Expected an object of strings for metadata but received 'm' of type string"],
    ['metadata', () => writeSafetensors(file('x'), [good()], { n: 1 } as unknown as Record<string, string>), TypeError, 'Expected a string for metadata.n but received 1 of type number'],
  ])('a bad %s (case %#)', async (_what, call, ErrorClass, message) => {
    await expect(call()).rejects.toThrow(new (ErrorClass as ErrorConstructor)(message));
    await expect(call()).rejects.toBeInstanceOf(ErrorClass);
    expect(fs.existsSync(file('x'))).toBe(false);
  });
});
