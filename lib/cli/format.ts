// The commands' printed text: an epoch's line and the metrics table.
import type { EpochEvent, Metrics } from '../index';

export function formatEpoch(e: EpochEvent, phases: number): string {
  return `phase ${e.phase + 1}/${phases} epoch ${e.epoch + 1}: train loss ${e.trainLoss.toFixed(4)}, valid loss ${e.validLoss.toFixed(4)} (${e.seconds.toFixed(1)} s)`;
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
