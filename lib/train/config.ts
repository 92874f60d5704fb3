// train()'s configuration: every option checked and defaulted (what a checkpoint records).
import * as path from 'node:path';
import { DEFAULT_AUGMENT, DEFAULT_PHOTO_AUGMENT, resolveAugment } from '../augment';
import { isImageFolderSource, resolveDataSource } from '../data/source';
import { resolveDistributed } from '../distributed';
import { COLLAPSE_POLICIES, DEVICES, DISTANCES, FREEZE_MODES, LOSS_KINDS, PRECISIONS, SAMPLERS, type CollapsePolicy } from '../enums';
import { rangeError, typeError } from '../errors';
import { booleanOption, checkKnownKeys, finiteNumber, nonNegativeInteger, oneOf, optionsObject, positiveInteger } from '../validate';
import { resolveModelConfig } from './model-config';
import type { PhaseConfig, ResolvedPhaseConfig, ResolvedTrainConfig } from './types';

export const DEFAULT_PHASES: PhaseConfig[] = [
  { epochs: 1, maxLr: 1e-2, freeze: 'backbone' },
  { epochs: 4, maxLr: 1e-3, freeze: 'none' },
];

function resolvePhases(value: unknown): ResolvedPhaseConfig[] {
  if (value === undefined) return DEFAULT_PHASES.map((p) => ({ ...p, backboneLrFactor: 1 }));
  if (!Array.isArray(value)) throw typeError('config.phases', 'an array of { epochs, maxLr, freeze }', value);
  if (value.length === 0) throw rangeError('config.phases', 'at least one phase', value);
  return value.map((p: unknown, i) => {
    const name = `config.phases[${i}]`;
    const o = optionsObject(p, name, true);
    checkKnownKeys(o, ['epochs', 'maxLr', 'freeze', 'backboneLrFactor'], name);
    const maxLr = finiteNumber(o.maxLr, `${name}.maxLr`, NaN);
    if (!(maxLr > 0)) throw rangeError(`${name}.maxLr`, 'a positive number', o.maxLr);
    const backboneLrFactor = finiteNumber(o.backboneLrFactor, `${name}.backboneLrFactor`, 1);
    if (!(backboneLrFactor > 0)) throw rangeError(`${name}.backboneLrFactor`, 'a positive number', o.backboneLrFactor);
    return {
      epochs: positiveInteger(o.epochs, `${name}.epochs`),
      maxLr,
      freeze: oneOf(o.freeze, `${name}.freeze`, FREEZE_MODES, 'none'),
      backboneLrFactor,
    };
  });
}

/** config.onCollapse (default 'warn'): a policy of this call, not part of the recorded configuration. */
export function resolveCollapsePolicy(value: unknown): CollapsePolicy {
  return oneOf(value, 'config.onCollapse', COLLAPSE_POLICIES, 'warn');
}

export function resolveTrainConfig(config: unknown): ResolvedTrainConfig {
  const c = optionsObject(config, 'config', true);
  checkKnownKeys(
    c,
    [
      'data', 'model', 'loss', 'batch', 'phases', 'seed', 'device', 'precision', 'threads', 'weightDecay', 'gradClip', 'augment',
      'checkpointDir', 'resume', 'maxSteps', 'distributed', 'onCollapse', 'onProgress', 'onEpoch', 'signal',
    ],
    'config',
  );
  const loss = optionsObject(c.loss, 'config.loss', false);
  checkKnownKeys(loss, ['kind', 'margin', 'distance', 'soft'], 'config.loss');
  const batch = optionsObject(c.batch, 'config.batch', false);
  checkKnownKeys(batch, ['classes', 'perClass', 'sampler', 'chunk'], 'config.batch');
  for (const [key, value] of [['onProgress', c.onProgress], ['onEpoch', c.onEpoch]] as const) {
    if (value !== undefined && typeof value !== 'function') throw typeError(`config.${key}`, 'a function', value);
  }
  if (c.signal !== undefined && !(c.signal instanceof AbortSignal)) throw typeError('config.signal', 'an AbortSignal', c.signal);
  resolveCollapsePolicy(c.onCollapse);
  const seed = nonNegativeInteger(c.seed, 'config.seed', 0);
  const nonNegative = (value: unknown, name: string, fallback: number): number => {
    const v = finiteNumber(value, name, fallback);
    if (v < 0) throw rangeError(name, 'a non-negative number', value);
    return v;
  };
  const kind = oneOf(loss.kind, 'config.loss.kind', LOSS_KINDS, 'semihard');
  if (kind === 'semihard' && loss.soft !== undefined) {
    throw typeError('config.loss.soft', "no such option for loss.kind 'semihard' (only 'hard' has soft)", loss.soft);
  }
  if (c.checkpointDir !== undefined && (typeof c.checkpointDir !== 'string' || c.checkpointDir.length === 0)) {
    throw typeError('config.checkpointDir', 'a folder path', c.checkpointDir);
  }
  const data = resolveDataSource(c.data);
  return {
    data,
    model: resolveModelConfig(c.model),
    loss: {
      kind,
      margin: finiteNumber(loss.margin, 'config.loss.margin', 1.0),
      distance: oneOf(loss.distance, 'config.loss.distance', DISTANCES, 'L2'),
      soft: booleanOption(loss.soft, 'config.loss.soft', false),
    },
    batch: {
      classes: batch.classes === undefined ? 8 : positiveInteger(batch.classes, 'config.batch.classes'),
      perClass: batch.perClass === undefined ? 16 : positiveInteger(batch.perClass, 'config.batch.perClass'),
      sampler: oneOf(batch.sampler, 'config.batch.sampler', SAMPLERS, 'balanced'),
      chunk: batch.chunk === undefined ? null : positiveInteger(batch.chunk, 'config.batch.chunk'),
    },
    phases: resolvePhases(c.phases),
    seed,
    device: oneOf(c.device, 'config.device', DEVICES, 'auto'),
    precision: oneOf(c.precision, 'config.precision', PRECISIONS, 'fp32'),
    threads: c.threads === undefined ? null : positiveInteger(c.threads, 'config.threads'),
    weightDecay: nonNegative(c.weightDecay, 'config.weightDecay', 0.01),
    gradClip: nonNegative(c.gradClip, 'config.gradClip', 0),
    augment: resolveAugment(c.augment, 'config.augment', isImageFolderSource(data) ? DEFAULT_PHOTO_AUGMENT : DEFAULT_AUGMENT),
    checkpointDir: path.resolve((c.checkpointDir as string | undefined) ?? 'semihard-checkpoints'),
    resume: booleanOption(c.resume, 'config.resume', false),
    maxSteps: c.maxSteps === undefined ? null : positiveInteger(c.maxSteps, 'config.maxSteps'),
    distributed: resolveDistributed(c.distributed),
  };
}
