// Training diagnostics and collapse: the native stats as the public TrainingStats (picked, not
// computed: the native side summarises), and the advice a collapse event carries.
import type { NativeCollapseAlarm, NativeTrainingStats } from '../../binding';
import type { CollapseEvent, ResolvedTrainConfig, TrainingStats } from './types';

/** The public fields of the native summary (null stays null). */
export function trainingStats(s: NativeTrainingStats | null): TrainingStats | null {
  if (s === null) return null;
  return {
    steps: s.steps,
    activeFraction: s.activeFraction,
    semiHardFraction: s.semiHardFraction,
    meanPositiveDistance: s.meanPositiveDistance,
    meanNegativeDistance: s.meanNegativeDistance,
    spread: s.spread,
    noPositiveAnchors: s.noPositiveAnchors,
  };
}

/** What to try after a collapse, in the run's own numbers. */
export function collapseAdvice(config: ResolvedTrainConfig, phase: number): string[] {
  const p = config.phases[phase];
  const advice = [
    `a lower learning rate (this phase peaks at ${p.maxLr}; try ${p.maxLr / 10})`,
    `more samples per class (batch.perClass is ${config.batch.perClass}): each anchor then has more positives and semi-hard negatives`,
  ];
  if (!config.loss.soft) advice.push(`a smaller margin (loss.margin is ${config.loss.margin}; the embeddings have norm 1, so distances are at most 2)`);
  if (config.model.pretrained === null) {
    advice.push(
      config.model.backbone.startsWith('resnet')
        ? 'pretrained weights (model.pretrained: a torchvision ResNet weight file)'
        : 'pretrained weights (a ResNet backbone with model.pretrained: a torchvision weight file)',
    );
  }
  return advice;
}

/** The 'collapse' progress event of a native alarm raised at 1-based `step` of an epoch. */
export function collapseEvent(alarm: NativeCollapseAlarm, config: ResolvedTrainConfig, phase: number, epoch: number, step: number): CollapseEvent {
  return {
    stage: 'collapse',
    phase,
    epoch,
    step,
    spread: alarm.spread,
    loss: alarm.loss,
    margin: alarm.margin,
    steps: alarm.steps,
    advice: collapseAdvice(config, phase),
  };
}
