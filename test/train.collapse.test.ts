// Collapse detection (native/core/collapse_detector.h, train({ onCollapse })): a run made to
// collapse (the hard loss at a learning rate far too high: batch-hard mining's known collapse)
// raises the event exactly where its steps' own stats say the streak reached its length,
// 'stop' checkpoints and returns stoppedEarly 'collapse' (and the checkpoint resumes, under
// another policy), 'ignore' raises nothing; the option's validation.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { train, type CollapseEvent, type ProgressEvent, type StepProgressEvent, type TrainConfig } from '../lib';
import { readCheckpoint } from '../lib/checkpoint';
import type { TrainCheckpointHeader } from '../lib/train/types';
import { smallTrainConfig, writeSmallDigits } from './helpers/small-training';

jest.setTimeout(120_000);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'semihard-collapse-'));
const data = path.join(tmp, 'digits');
beforeAll(() => writeSmallDigits(data));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// The thresholds the README states (native/core/collapse_detector.h's defaults).
const MAX_SPREAD = 0.05;
const LOSS_BAND = 0.05;
const MIN_STEPS = 20;

// The hard loss at a peak rate of 0.1: the embeddings fall onto one point within a few steps
// and stay there, the loss at the margin (1).
function collapsing(name: string): TrainConfig {
  return {
    ...smallTrainConfig(data, path.join(tmp, name), 2),
    loss: { kind: 'hard' },
    phases: [{ epochs: 3, maxLr: 0.1, freeze: 'none' }],
  };
}

async function run(config: TrainConfig): Promise<{ steps: StepProgressEvent[]; collapses: CollapseEvent[]; result: Awaited<ReturnType<typeof train>> }> {
  const events: ProgressEvent[] = [];
  const result = await train({ ...config, onProgress: (e) => events.push(e) });
  return {
    steps: events.filter((e): e is StepProgressEvent => e.stage === 'train'),
    collapses: events.filter((e): e is CollapseEvent => e.stage === 'collapse'),
    result,
  };
}

// The first step (index into `steps`) at which MIN_STEPS consecutive steps have looked
// collapsed by their own stats and losses (on the CPU every step is its own report window).
function expectedAlarm(steps: StepProgressEvent[]): number {
  let streak = 0;
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i];
    const collapsed = s.stats!.spread! < MAX_SPREAD && Math.abs(s.loss - 1) <= LOSS_BAND * 1;
    streak = collapsed ? streak + 1 : 0;
    if (streak === MIN_STEPS) return i;
  }
  return -1;
}

test("'warn' (the default): one event where the streak of collapsed steps reaches its length, and the run goes on", async () => {
  const { steps, collapses, result } = await run(collapsing('warn'));
  expect(result.stoppedEarly).toBe(false);
  const at = expectedAlarm(steps);
  expect(at).toBeGreaterThanOrEqual(MIN_STEPS - 1);
  expect(collapses).toHaveLength(1);
  const e = collapses[0];
  expect({ phase: e.phase, epoch: e.epoch, step: e.step }).toEqual({ phase: steps[at].phase, epoch: steps[at].epoch, step: steps[at].step });
  expect(e.steps).toBe(MIN_STEPS);
  expect(e.margin).toBe(1);
  expect(e.spread).toBeLessThan(MAX_SPREAD);
  expect(Math.abs(e.loss - 1)).toBeLessThanOrEqual(LOSS_BAND);
  expect(e.advice.join('\n')).toMatch(/lower learning rate.*0\.1[\s\S]*perClass is 8[\s\S]*margin is 1[\s\S]*pretrained/);
  // The epochs' stats say the same.
  expect(result.history[result.history.length - 1].stats!.spread!).toBeLessThan(MAX_SPREAD);
});

test("'stop': the event, a checkpoint and stoppedEarly 'collapse'; the checkpoint resumes (under another policy)", async () => {
  const config: TrainConfig = { ...collapsing('stop'), onCollapse: 'stop' };
  const { steps, collapses, result } = await run(config);
  expect(result.stoppedEarly).toBe('collapse');
  expect(collapses).toHaveLength(1);
  // The run stops after the step that raised it.
  const at = expectedAlarm(steps);
  expect(result.steps).toBe(at + 1);
  expect(steps).toHaveLength(at + 1);
  const { header } = await readCheckpoint<TrainCheckpointHeader>(result.checkpoint);
  expect(header.finished).toBe(false);
  expect(header.globalStep).toBe(at + 1);
  expect(header.next).toEqual({ phase: 0, epoch: steps[at].epoch, step: steps[at].step });
  const resumed = await run({ ...config, onCollapse: 'ignore', resume: true, maxSteps: at + 4 });
  expect(resumed.result).toMatchObject({ steps: 3, stoppedEarly: 'maxSteps' });
  expect(resumed.collapses).toHaveLength(0);
  expect(resumed.steps[0].step).toBe(steps[at].step + 1);
});

test("'ignore': no event", async () => {
  const { collapses, result } = await run({ ...collapsing('ignore'), onCollapse: 'ignore', maxSteps: 40 });
  expect(result.steps).toBe(40);
  expect(collapses).toHaveLength(0);
});

test('onCollapse is validated with the other options', async () => {
  const config = smallTrainConfig(data, path.join(tmp, 'bad'), 1);
  await expect(train({ ...config, onCollapse: 'never' as never })).rejects.toThrow(
    new RangeError("Expected one of 'warn', 'stop', 'ignore' for config.onCollapse but received 'never' of type string"),
  );
  await expect(train({ ...config, onCollapse: 1 as never })).rejects.toThrow(TypeError);
  await expect(train({ ...config, onCollapse: 1 as never })).rejects.toThrow(/for config\.onCollapse but received 1/);
});
