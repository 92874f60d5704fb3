// A brute-force reference of the triplet losses in float64, written from the definitions
// (FaceNet's semi-hard mining as TF-Addons states it; batch-hard mining), independent of
// the native code: distances from coordinate differences, not from a Gram matrix, and an
// O(B^3) loop over anchor, positive and negative. Valid for batches without distance ties
// (TF's tie-splitting gradient rules are checked against the TF fixtures instead).

export type RefDistance = 'L2' | 'squared-L2' | 'angular';

export interface RefOptions {
  margin: number;
  soft?: boolean;
  distance: RefDistance;
}

export interface RefResult {
  loss: number;
  grad: Float64Array;
  positivePairs: number;
}

class Geometry {
  readonly n: number;
  readonly d: number[][];
  private readonly unit: number[][];
  private readonly norms: number[];

  constructor(
    private readonly x: ArrayLike<number>,
    private readonly dim: number,
    private readonly kind: RefDistance,
  ) {
    this.n = x.length / dim;
    this.norms = [];
    this.unit = [];
    for (let i = 0; i < this.n; i++) {
      let s = 0;
      for (let k = 0; k < dim; k++) s += x[i * dim + k] ** 2;
      const norm = Math.sqrt(Math.max(s, 1e-12));
      this.norms.push(norm);
      this.unit.push(Array.from({ length: dim }, (_, k) => x[i * dim + k] / norm));
    }
    this.d = [];
    for (let i = 0; i < this.n; i++) {
      const row: number[] = [];
      for (let j = 0; j < this.n; j++) row.push(i === j && kind !== 'angular' ? 0 : this.distance(i, j));
      this.d.push(row);
    }
  }

  private distance(i: number, j: number): number {
    if (this.kind === 'angular') {
      let dot = 0;
      for (let k = 0; k < this.dim; k++) dot += this.unit[i][k] * this.unit[j][k];
      return Math.max(1 - dot, 0);
    }
    let s = 0;
    for (let k = 0; k < this.dim; k++) s += (this.x[i * this.dim + k] - this.x[j * this.dim + k]) ** 2;
    return this.kind === 'L2' ? Math.sqrt(s) : s;
  }

  /** grad += w * d(D[i][j])/dx. */
  addGrad(grad: Float64Array, i: number, j: number, w: number): void {
    if (i === j || w === 0) return;
    const { dim } = this;
    if (this.kind === 'angular') {
      let dot = 0;
      for (let k = 0; k < dim; k++) dot += this.unit[i][k] * this.unit[j][k];
      if (1 - dot < 0) return;
      for (let k = 0; k < dim; k++) {
        grad[i * dim + k] += (w * -(this.unit[j][k] - dot * this.unit[i][k])) / this.norms[i];
        grad[j * dim + k] += (w * -(this.unit[i][k] - dot * this.unit[j][k])) / this.norms[j];
      }
      return;
    }
    const dij = this.d[i][j];
    if (dij <= 0) return;
    for (let k = 0; k < dim; k++) {
      const diff = this.x[i * dim + k] - this.x[j * dim + k];
      const g = this.kind === 'L2' ? diff / dij : 2 * diff;
      grad[i * dim + k] += w * g;
      grad[j * dim + k] -= w * g;
    }
  }
}

function argExtreme(values: number[], candidates: number[], pick: 'min' | 'max'): number {
  let best = candidates[0];
  for (const j of candidates) if (pick === 'min' ? values[j] < values[best] : values[j] > values[best]) best = j;
  return best;
}

const softplus = (x: number): number => (x > 30 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

export function referenceLoss(
  kind: 'semihard' | 'hard',
  embeddings: ArrayLike<number>,
  labels: ArrayLike<number>,
  dim: number,
  options: RefOptions,
): RefResult {
  const g = new Geometry(embeddings, dim, options.distance);
  const n = g.n;
  const grad = new Float64Array(embeddings.length);
  const all = Array.from({ length: n }, (_, j) => j);
  let positivePairs = 0;
  for (let a = 0; a < n; a++) for (let p = 0; p < n; p++) if (p !== a && labels[p] === labels[a]) positivePairs++;

  if (kind === 'semihard') {
    if (positivePairs === 0) return { loss: 0, grad, positivePairs };
    let sum = 0;
    const active: [number, number, number][] = [];
    for (let a = 0; a < n; a++) {
      const row = g.d[a];
      const negatives = all.filter((j) => labels[j] !== labels[a]);
      for (let p = 0; p < n; p++) {
        if (p === a || labels[p] !== labels[a]) continue;
        // Semi-hard: the nearest negative strictly farther than the positive; else the
        // farthest negative; else (no negatives) the nearest point of the row.
        const farther = negatives.filter((j) => row[j] > row[p]);
        const chosen = farther.length > 0 ? argExtreme(row, farther, 'min') : negatives.length > 0 ? argExtreme(row, negatives, 'max') : argExtreme(row, all, 'min');
        const term = options.margin + row[p] - row[chosen];
        if (term >= 0) {
          sum += term;
          active.push([a, p, chosen]);
        }
      }
    }
    for (const [a, p, c] of active) {
      g.addGrad(grad, a, p, 1 / positivePairs);
      g.addGrad(grad, a, c, -1 / positivePairs);
    }
    return { loss: sum / positivePairs, grad, positivePairs };
  }

  let sum = 0;
  for (let a = 0; a < n; a++) {
    const row = g.d[a];
    const positives = all.filter((j) => j !== a && labels[j] === labels[a]);
    const negatives = all.filter((j) => labels[j] !== labels[a]);
    const hp = positives.length > 0 ? argExtreme(row, positives, 'max') : argExtreme(row, all, 'min');
    const hn = negatives.length > 0 ? argExtreme(row, negatives, 'min') : argExtreme(row, all, 'max');
    const gap = row[hp] - row[hn];
    let slope: number;
    if (options.soft) {
      sum += softplus(gap);
      slope = sigmoid(gap);
    } else {
      sum += Math.max(gap + options.margin, 0);
      slope = gap + options.margin >= 0 ? 1 : 0;
    }
    g.addGrad(grad, a, hp, slope / n);
    g.addGrad(grad, a, hn, -slope / n);
  }
  return { loss: sum / n, grad, positivePairs };
}

/**
 * The semi-hard loss as referenceLoss computes it, in O(B² log B) for large batches: each
 * anchor's negatives sorted once, the nearest one farther than a positive found by bisection.
 * Assumes no exact ties between distances (true of random float data).
 */
export function referenceSemiHardLarge(embeddings: ArrayLike<number>, labels: ArrayLike<number>, dim: number, options: RefOptions): RefResult {
  const g = new Geometry(embeddings, dim, options.distance);
  const n = g.n;
  const grad = new Float64Array(embeddings.length);
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i++) counts.set(labels[i], (counts.get(labels[i]) ?? 0) + 1);
  let positivePairs = 0;
  for (const c of counts.values()) positivePairs += c * (c - 1);
  if (positivePairs === 0) return { loss: 0, grad, positivePairs };
  let sum = 0;
  for (let a = 0; a < n; a++) {
    const row = g.d[a];
    const negatives: number[] = [];
    for (let j = 0; j < n; j++) if (labels[j] !== labels[a]) negatives.push(j);
    negatives.sort((x, y) => row[x] - row[y]);
    for (let p = 0; p < n; p++) {
      if (p === a || labels[p] !== labels[a]) continue;
      let lo = 0;
      let hi = negatives.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (row[negatives[mid]] > row[p]) hi = mid;
        else lo = mid + 1;
      }
      const chosen = lo < negatives.length ? negatives[lo] : negatives.length > 0 ? negatives[negatives.length - 1] : -1;
      if (chosen < 0) continue; // one class only: not used by the large tests
      const term = options.margin + row[p] - row[chosen];
      if (term >= 0) {
        sum += term;
        g.addGrad(grad, a, p, 1 / positivePairs);
        g.addGrad(grad, a, chosen, -1 / positivePairs);
      }
    }
  }
  return { loss: sum / positivePairs, grad, positivePairs };
}

/** A small seeded PRNG (mulberry32) and the samplers the tests use. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function gaussian(next: () => number): number {
  const u = Math.max(next(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
}

export function randomBatch(
  seed: number,
  batch: number,
  dim: number,
  classes: number,
  normalise: boolean,
): { embeddings: Float32Array; labels: number[] } {
  const next = rng(seed);
  const embeddings = new Float32Array(batch * dim);
  for (let i = 0; i < batch; i++) {
    let s = 0;
    for (let k = 0; k < dim; k++) {
      const v = gaussian(next);
      embeddings[i * dim + k] = v;
      s += v * v;
    }
    if (normalise) for (let k = 0; k < dim; k++) embeddings[i * dim + k] /= Math.sqrt(s);
  }
  const labels = Array.from({ length: batch }, () => Math.floor(next() * classes));
  return { embeddings, labels };
}

/**
 * The losses of TF-Addons' callable `distance_metric`: `distances` is the caller's B × B
 * matrix (row-major, any finite values, used as given, the diagonal included) and `grad` is
 * d(loss)/d(distances). The same definitions as referenceLoss, in float64, on the matrix.
 */
export function referenceLossFromDistances(
  kind: 'semihard' | 'hard',
  distances: ArrayLike<number>,
  labels: ArrayLike<number>,
  options: { margin: number; soft?: boolean },
): { loss: number; grad: Float64Array } {
  const n = labels.length;
  const row = (a: number): number[] => Array.from({ length: n }, (_, j) => distances[a * n + j]);
  const grad = new Float64Array(n * n);
  const all = Array.from({ length: n }, (_, j) => j);
  let sum = 0;
  let terms = 0;
  for (let a = 0; a < n; a++) {
    const d = row(a);
    const positives = all.filter((j) => j !== a && labels[j] === labels[a]);
    const negatives = all.filter((j) => labels[j] !== labels[a]);
    if (kind === 'semihard') {
      for (const p of positives) {
        terms++;
        const farther = negatives.filter((j) => d[j] > d[p]);
        const chosen = farther.length > 0 ? argExtreme(d, farther, 'min') : negatives.length > 0 ? argExtreme(d, negatives, 'max') : argExtreme(d, all, 'min');
        const term = options.margin + d[p] - d[chosen];
        if (term < 0) continue;
        sum += term;
        grad[a * n + p] += 1;
        grad[a * n + chosen] -= 1;
      }
      continue;
    }
    terms++;
    const hp = positives.length > 0 ? argExtreme(d, positives, 'max') : argExtreme(d, all, 'min');
    const hn = negatives.length > 0 ? argExtreme(d, negatives, 'min') : argExtreme(d, all, 'max');
    const gap = d[hp] - d[hn];
    const slope = options.soft ? sigmoid(gap) : gap + options.margin >= 0 ? 1 : 0;
    sum += options.soft ? softplus(gap) : Math.max(gap + options.margin, 0);
    grad[a * n + hp] += slope;
    grad[a * n + hn] -= slope;
  }
  if (terms === 0) return { loss: 0, grad };
  for (let k = 0; k < grad.length; k++) grad[k] /= terms;
  return { loss: sum / terms, grad };
}
