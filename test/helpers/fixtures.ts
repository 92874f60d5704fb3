// Loads the TF-Addons fixtures written by scripts/fixtures/make_tfa_fixtures.py.
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface TfaCase {
  name: string;
  distance: 'L2' | 'squared-L2' | 'angular' | 'custom-L1';
  margin: number;
  batch: number;
  dim: number;
  regime: string;
  labels: number[];
  embeddings: number[];
  loss: number | null;
  lossNonFinite?: 'NaN' | 'Infinity';
  grad: number[] | null;
  distances?: number[];
  gradDistances?: number[];
}

export interface TfaFixture {
  generator: string;
  tensorflow: string;
  tensorflow_addons: string;
  loss: 'semihard' | 'hard' | 'hard-soft';
  cases: TfaCase[];
}

export function loadFixture(file: string): TfaFixture {
  return JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', file), 'utf8')) as TfaFixture;
}

/** Largest |a[i] - b[i]|. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}
