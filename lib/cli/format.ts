// The commands' printed text: an epoch's lines, a collapse warning and the metrics table.
import type { CollapseEvent, EpochEvent, Metrics, TrainingStats } from '../index';

/** The epoch's loss line, then (when the epoch has stats) its stats line. */
export function formatEpoch(e: EpochEvent, phases: number): string {
  const line = `phase ${e.phase + 1}/${phases} epoch ${e.epoch + 1}: train loss ${e.trainLoss.toFixed(4)}, valid loss ${e.validLoss.toFixed(4)} (${e.seconds.toFixed(1)} s)`;
  return e.stats ? `${line}\n${formatTrainingStats(e.stats)}` : line;
}

const percent = (v: number | null): string => (v === null ? '–' : `${Math.round(v * 100)}%`);
const fixed = (v: number | null): string => (v === null ? '–' : v.toFixed(2));

/** "  active 41% · semi-hard 77% · d+ 0.52 · d− 1.13 · spread 0.86" (– where not defined; no semi-hard part for the hard loss). */
export function formatTrainingStats(s: TrainingStats): string {
  const parts = [`active ${percent(s.activeFraction)}`];
  if (s.semiHardFraction !== null) parts.push(`semi-hard ${percent(s.semiHardFraction)}`);
  parts.push(`d+ ${fixed(s.meanPositiveDistance)}`, `d− ${fixed(s.meanNegativeDistance)}`, `spread ${fixed(s.spread)}`);
  if (s.noPositiveAnchors > 0) parts.push(`${s.noPositiveAnchors} anchors without a positive`);
  return `  ${parts.join(' · ')}`;
}

/** The warning for a 'collapse' event: what was seen, then what to try. */
export function formatCollapse(e: CollapseEvent, phases: number): string {
  return (
    `warning: the embeddings collapsed (phase ${e.phase + 1}/${phases} epoch ${e.epoch + 1}, step ${e.step}): ` +
    `spread ${e.spread.toFixed(3)} and loss ${e.loss.toFixed(4)} at the margin ${e.margin} for ${e.steps} steps\n` +
    `try:\n${e.advice.map((a) => `  - ${a}`).join('\n')}`
  );
}

export function formatMetrics(m: Metrics, classNames: string[], k: number): string {
  const pct = (v: number): string => `${(100 * v).toFixed(2)}%`;
  const lines = [
    `kNN accuracy (k=${k})   ${pct(m.knnAccuracy)}`,
    `linear accuracy        ${pct(m.linearAccuracy)}`,
    `SVM accuracy           ${pct(m.svmAccuracy)}`,
    `precision@1            ${pct(m.precisionAt1)}`,
    `R-precision            ${pct(m.rPrecision)}`,
    `MAP@R                  ${pct(m.mapAtR)}`,
    '',
    'class                  kNN accuracy   count',
    ...m.perClass.map((c) => `${(classNames[c.label] ?? String(c.label)).padEnd(22)} ${pct(c.knnAccuracy).padStart(12)}   ${String(c.count).padStart(5)}`),
  ];
  return lines.join('\n');
}
