// A tensor as it crosses between weight files (safetensors, torchvision .pth) and the addon:
// its name (a state_dict key), dtype, shape and raw little-endian C-order bytes.
export const TENSOR_DTYPES = ['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool'] as const;
export type TensorDtype = (typeof TENSOR_DTYPES)[number];

export const DTYPE_BYTES: Record<TensorDtype, number> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
};

export interface NamedTensor {
  name: string;
  dtype: TensorDtype;
  shape: number[];
  /** shape's product × DTYPE_BYTES[dtype] bytes, little-endian, C-contiguous. */
  data: Uint8Array;
}
