// Operations on stored confusion matrices: validation (re-exported), the diff of two runs' matrices,
// and the best epoch of a run by a chosen measure.

import { isMetricName, measuresFromConfusion, METRIC_NAMES, metricValue, type MetricName } from './classification.js';
import { MetricsInputError, type MetricsIssue } from './errors.js';
import { assertConfusionMatrix, confusionMatrixIssues } from './matrix-validation.js';

export { assertConfusionMatrix, confusionMatrixIssues };

export interface ConfusionInput {
  matrix: number[][];
  /** When both sides have names they must be equal; when neither has, the sizes must be. */
  class_names?: string[];
}

export interface ConfusionCellChange {
  true_index: number;
  pred_index: number;
  true_name: string;
  pred_name: string;
  a: number;
  b: number;
  /** b - a, in counts. */
  delta: number;
  /** b's share of its true class minus a's, so test sets of different sizes compare fairly. */
  rate_delta: number;
}

export interface ConfusionDiff {
  class_names: string[];
  /** b - a per cell. */
  counts: number[][];
  /** Row-normalised difference: b[i][j]/support_b[i] - a[i][j]/support_a[i] (0 for an empty row). */
  rates: number[][];
  a_total: number;
  b_total: number;
  /** Per class: b's recall minus a's recall (the diagonal of `rates`). */
  recall_delta: number[];
  /** Non-zero cells by |rate_delta| (then |delta|), largest first; diagonal cells included. */
  changes: ConfusionCellChange[];
}

/**
 * How run b's matrix differs from run a's. Both must be valid and describe the same classes; otherwise
 * MetricsInputError names the side ('a' or 'b') at fault.
 */
export function diffConfusion(a: ConfusionInput, b: ConfusionInput): ConfusionDiff {
  const issues: MetricsIssue[] = [
    ...confusionMatrixIssues(a?.matrix, a?.class_names, 'a.matrix'),
    ...confusionMatrixIssues(b?.matrix, b?.class_names, 'b.matrix'),
  ];
  if (issues.length > 0) throw new MetricsInputError(issues);
  const n = a.matrix.length;
  if (b.matrix.length !== n) {
    throw new MetricsInputError([{ path: 'b.matrix', message: `has ${b.matrix.length} classes but a has ${n}; only the same classes can be compared` }]);
  }
  if (a.class_names && b.class_names) {
    const differing = a.class_names.findIndex((name, k) => name !== b.class_names![k]);
    if (differing >= 0) {
      throw new MetricsInputError([
        {
          path: `b.class_names[${differing}]`,
          message: `is ${JSON.stringify(b.class_names[differing])} but a has ${JSON.stringify(a.class_names[differing])}; only the same classes can be compared`,
        },
      ]);
    }
  }
  const names = a.class_names ?? b.class_names ?? [...Array(n).keys()].map(String);
  const supportA = a.matrix.map(sum);
  const supportB = b.matrix.map(sum);
  const counts: number[][] = [];
  const rates: number[][] = [];
  const changes: ConfusionCellChange[] = [];
  for (let i = 0; i < n; i++) {
    counts.push([]);
    rates.push([]);
    for (let j = 0; j < n; j++) {
      const va = a.matrix[i][j];
      const vb = b.matrix[i][j];
      const rate = share(vb, supportB[i]) - share(va, supportA[i]);
      counts[i].push(vb - va);
      rates[i].push(rate);
      if (vb !== va || rate !== 0) {
        changes.push({ true_index: i, pred_index: j, true_name: names[i], pred_name: names[j], a: va, b: vb, delta: vb - va, rate_delta: rate });
      }
    }
  }
  changes.sort(
    (x, y) =>
      Math.abs(y.rate_delta) - Math.abs(x.rate_delta) ||
      Math.abs(y.delta) - Math.abs(x.delta) ||
      x.true_index - y.true_index ||
      x.pred_index - y.pred_index,
  );
  return {
    class_names: names,
    counts,
    rates,
    a_total: sum(supportA),
    b_total: sum(supportB),
    recall_delta: rates.map((row, i) => row[i]),
    changes,
  };
}

export interface EvaluationLike {
  epoch: number;
  matrix: number[][];
  class_names?: string[];
  /** Test loss; needed only for metric 'loss'. */
  loss?: number | null;
}

/** A measure from METRIC_NAMES (higher is better) or 'loss' (the evaluation's test loss, lower is better). */
export type BestEpochMetric = MetricName | 'loss';

export const BEST_EPOCH_METRICS: readonly BestEpochMetric[] = [...METRIC_NAMES, 'loss'];

export interface BestEpoch {
  epoch: number;
  value: number;
  metric: BestEpochMetric;
  /** Position of the chosen evaluation in the input array. */
  index: number;
}

/**
 * The evaluation with the best value of `metric`; ties go to the earliest epoch (it reached the same
 * quality for less training). Evaluations whose matrix is invalid or whose value is not finite are
 * skipped rather than failing the whole question; null when none qualifies.
 */
export function bestEpoch(evaluations: readonly EvaluationLike[], metric: BestEpochMetric): BestEpoch | null {
  if (metric !== 'loss' && !isMetricName(metric)) {
    throw new MetricsInputError([{ path: 'metric', message: `must be one of ${BEST_EPOCH_METRICS.join(', ')}; got ${String(metric)}` }]);
  }
  let best: BestEpoch | null = null;
  for (let index = 0; index < evaluations.length; index++) {
    const ev = evaluations[index];
    const value = valueOf(ev, metric);
    if (value === null || !Number.isFinite(ev?.epoch)) continue;
    const better =
      best === null ||
      (metric === 'loss' ? value < best.value : value > best.value) ||
      (value === best.value && ev.epoch < best.epoch);
    if (better) best = { epoch: ev.epoch, value, metric, index };
  }
  return best;
}

function valueOf(ev: EvaluationLike, metric: BestEpochMetric): number | null {
  if (ev === null || typeof ev !== 'object') return null;
  if (metric === 'loss') return typeof ev.loss === 'number' && Number.isFinite(ev.loss) ? ev.loss : null;
  if (confusionMatrixIssues(ev.matrix, ev.class_names).length > 0) return null;
  return metricValue(measuresFromConfusion(ev.matrix, ev.class_names), metric);
}

function sum(xs: number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}

function share(v: number, total: number): number {
  return total === 0 ? 0 : v / total;
}
