// The raw surface of build/Release/semihard.node (native/binding/). Only lib/binding.ts
// loads the addon; everything else goes through the typed public API in lib/.

export type NativeLabels = Int32Array | BigInt64Array;
export type NativeDistance = 'L2' | 'squared-L2' | 'angular';
export type NativeDevice = 'cpu' | 'cuda' | 'auto';

/** Fully defaulted options: lib/ fills every field before calling the addon. */
export interface NativeLossOptions {
  kind: 'semihard' | 'hard';
  margin: number;
  soft: boolean;
  distance: NativeDistance;
  device: NativeDevice;
  /** Testing hook: mine the hard loss with the tensor-operation miner CUDA uses, on any device. */
  tensorMining?: boolean;
}

export interface NativeLossResult {
  loss: number;
  grad: Float32Array;
  positivePairs: number;
}

export interface NativeInfo {
  torchVersion: string;
  cudaAvailable: boolean;
  threads: number;
  parallelBackend: string;
}

export interface NativeBinding {
  tripletLoss(embeddings: Float32Array, dim: number, labels: NativeLabels, options: NativeLossOptions): NativeLossResult;
  tripletLossAsync(
    embeddings: Float32Array,
    dim: number,
    labels: NativeLabels,
    options: NativeLossOptions,
  ): Promise<NativeLossResult>;
  tripletLossFromDistances(distances: Float32Array, labels: NativeLabels, options: NativeLossOptions): NativeLossResult;
  tripletLossFromDistancesAsync(
    distances: Float32Array,
    labels: NativeLabels,
    options: NativeLossOptions,
  ): Promise<NativeLossResult>;
  info(): NativeInfo;
  setNumThreads(threads: number): void;
  /** Benchmarks only: median ms of one B×D · D×B product on `device`, timed natively. */
  benchmarkGram(batch: number, dim: number, repeats: number, device: NativeDevice): number;
}
