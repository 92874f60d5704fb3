// Which samples form each batch. All plans are pure functions of (labels, sizes, seed,
// epoch), so a resumed run regenerates exactly the batches the interrupted one had.
import { rangeErrorWithMessage } from '../errors';
import { Random, derivedSeed } from '../random';

/** `steps` batches of `batchSize` sample indices, row-major. */
export interface BatchPlan {
  batchSize: number;
  steps: number;
  indices: Int32Array;
}

function groupByClass(labels: Int32Array): Map<number, number[]> {
  const groups = new Map<number, number[]>();
  labels.forEach((label, i) => {
    let g = groups.get(label);
    if (!g) groups.set(label, (g = []));
    g.push(i);
  });
  return groups;
}

/**
 * Class-balanced P×K batches (P classes, K samples of each) whose epoch visits every sample
 * at least once: each class hands out its samples in a seeded order, unvisited ones first,
 * and each batch takes the P classes with the most unvisited samples left (ties at random),
 * topping up with repeats once a class is used up.
 */
export function balancedEpoch(labels: Int32Array, classesPerBatch: number, perClass: number, seed: number, epoch: number): BatchPlan {
  const groups = groupByClass(labels);
  if (classesPerBatch > groups.size) {
    throw rangeErrorWithMessage(
      'batch.classes',
      `Expected batch.classes to be at most the ${groups.size} classes of the training data but received ${classesPerBatch}`,
    );
  }
  const random = new Random(derivedSeed(seed, 0xba1, epoch));
  const classes = [...groups.keys()].sort((a, b) => a - b);
  const queues = classes.map((c) => random.shuffle([...groups.get(c)!]));
  const next = classes.map(() => 0); // next position in the class's queue
  const unvisited = queues.map((q) => q.length);
  const batchSize = classesPerBatch * perClass;
  const batches: number[] = [];
  let remaining = labels.length;
  while (remaining > 0) {
    const order = classes.map((_, i) => i);
    const tiebreak = order.map(() => random.next());
    order.sort((a, b) => unvisited[b] - unvisited[a] || tiebreak[a] - tiebreak[b]);
    for (const ci of order.slice(0, classesPerBatch)) {
      const queue = queues[ci];
      for (let k = 0; k < perClass; k++) {
        if (next[ci] === queue.length) {
          random.shuffle(queue); // a class used up starts over: repeats
          next[ci] = 0;
        }
        batches.push(queue[next[ci]++]);
        if (unvisited[ci] > 0) {
          unvisited[ci]--;
          remaining--;
        }
      }
    }
  }
  return { batchSize, steps: batches.length / batchSize, indices: Int32Array.from(batches) };
}

/** Plain shuffled batches of `batchSize`; the last one is topped up from the epoch's start. */
export function shuffledEpoch(count: number, batchSize: number, seed: number, epoch: number): BatchPlan {
  const random = new Random(derivedSeed(seed, 0x5f1, epoch));
  const order = random.shuffle(Int32Array.from({ length: count }, (_, i) => i));
  return wrapToBatches(order, batchSize);
}

/**
 * Validation batches: the validation set in one seeded shuffle (a set sorted by class would
 * otherwise give batches without positives), the same every epoch so losses compare.
 */
export function validationBatches(count: number, batchSize: number, seed: number): BatchPlan {
  const random = new Random(derivedSeed(seed, 0x7a1));
  return wrapToBatches(random.shuffle(Int32Array.from({ length: count }, (_, i) => i)), Math.min(batchSize, count));
}

function wrapToBatches(order: Int32Array, batchSize: number): BatchPlan {
  const steps = Math.ceil(order.length / batchSize);
  const indices = new Int32Array(steps * batchSize);
  for (let i = 0; i < indices.length; i++) indices[i] = order[i % order.length];
  return { batchSize, steps, indices };
}
