// Classification measures from confusion-matrix counts, with scikit-learn's definitions (checked against
// sklearn-generated fixtures to 1e-12; see docs/metrics.md). The orchestrator computes every measure
// here from the matrix the worker sends, so all runs are measured the same way whatever trainer made them.
//
// Zero-division policy: any ratio whose denominator is 0 is 0 (sklearn's zero_division=0). Concretely:
// precision of a class never predicted, recall of a class never present, F1 when precision+recall = 0,
// and accuracy / averages of an empty matrix are all 0, never NaN (NaN would not survive JSON anyway).

import type { ClassMeasuresView, MeasuresView } from '../contracts/api.js';
import { MetricsInputError, type MetricsIssue } from './errors.js';
import { assertConfusionMatrix } from './matrix-validation.js';

/**
 * Which classes the macro and weighted averages run over.
 * - 'present' (default, sklearn's default when labels are not given): classes that occur in y_true or
 *   y_pred, i.e. whose row or column is non-zero. A class absent from both (e.g. missing from a small
 *   test subset and never predicted) has no defined precision or recall and does not drag macro down.
 * - 'all': every class of the matrix (sklearn with labels=range(K)); absent classes count as 0.
 * per_class always lists every class; micro and weighted are the same under both.
 */
export type AverageOver = 'present' | 'all';

export interface MeasuresOptions {
  average_over?: AverageOver;
}

type Prf = { precision: number; recall: number; f1: number };

/** matrix[true][pred] counts -> every measure. Throws MetricsInputError on a malformed matrix or names. */
export function measuresFromConfusion(matrix: number[][], classNames?: string[], options: MeasuresOptions = {}): MeasuresView {
  assertConfusionMatrix(matrix, classNames);
  const averageOver = options.average_over ?? 'present';
  if (averageOver !== 'present' && averageOver !== 'all') {
    throw new MetricsInputError([{ path: 'average_over', message: `must be 'present' or 'all', got ${String(averageOver)}` }]);
  }
  const k = matrix.length;
  const rowSum = new Array<number>(k).fill(0); // support: samples whose true class is i
  const colSum = new Array<number>(k).fill(0); // samples predicted as j
  let total = 0;
  let correct = 0;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const v = matrix[i][j];
      rowSum[i] += v;
      colSum[j] += v;
      total += v;
    }
    correct += matrix[i][i];
  }

  const perClass: ClassMeasuresView[] = [];
  for (let c = 0; c < k; c++) {
    const tp = matrix[c][c];
    const precision = divide(tp, colSum[c]);
    const recall = divide(tp, rowSum[c]);
    perClass.push({
      class_index: c,
      class_name: classNames ? classNames[c] : String(c),
      precision,
      recall,
      f1: f1Of(precision, recall),
      support: rowSum[c],
    });
  }

  const included = perClass.filter((pc) => averageOver === 'all' || rowSum[pc.class_index] > 0 || colSum[pc.class_index] > 0);

  // Micro pools TP, predictions and supports over the included classes; excluded classes have no
  // samples and no predictions, so this is the same pool as the whole matrix.
  let tpSum = 0;
  let predSum = 0;
  let trueSum = 0;
  for (const pc of included) {
    tpSum += matrix[pc.class_index][pc.class_index];
    predSum += colSum[pc.class_index];
    trueSum += rowSum[pc.class_index];
  }
  const microP = divide(tpSum, predSum);
  const microR = divide(tpSum, trueSum);

  const presentInTruth = perClass.filter((pc) => pc.support > 0);

  return {
    accuracy: divide(correct, total),
    // sklearn's balanced_accuracy_score: mean recall over the classes present in y_true only (a class
    // that is only ever predicted has no recall to average).
    balanced_accuracy: mean(presentInTruth.map((pc) => pc.recall)),
    micro: { precision: microP, recall: microR, f1: f1Of(microP, microR) },
    macro: average(included, null),
    weighted: average(included, included.map((pc) => pc.support)),
    per_class: perClass,
  };
}

/** Counts labels into matrix[true][pred]. Labels must be integers in [0, numClasses). */
export function confusionFromLabels(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, numClasses: number): number[][] {
  const issues: MetricsIssue[] = [];
  if (!Number.isSafeInteger(numClasses) || numClasses < 1) {
    issues.push({ path: 'num_classes', message: `must be a positive integer, got ${String(numClasses)}` });
    throw new MetricsInputError(issues);
  }
  if (yTrue.length !== yPred.length) {
    issues.push({ path: 'y_pred', message: `has ${yPred.length} labels but y_true has ${yTrue.length}` });
    throw new MetricsInputError(issues);
  }
  const matrix = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let s = 0; s < yTrue.length; s++) {
    const t = yTrue[s];
    const p = yPred[s];
    const tOk = Number.isInteger(t) && t >= 0 && t < numClasses;
    const pOk = Number.isInteger(p) && p >= 0 && p < numClasses;
    if (!tOk) issues.push({ path: `y_true[${s}]`, message: `must be an integer class in [0, ${numClasses}), got ${String(t)}` });
    if (!pOk) issues.push({ path: `y_pred[${s}]`, message: `must be an integer class in [0, ${numClasses}), got ${String(p)}` });
    if (issues.length >= 20) break;
    if (tOk && pOk) matrix[t][p] += 1;
  }
  if (issues.length > 0) throw new MetricsInputError(issues);
  return matrix;
}

/** Convenience for label arrays: confusionFromLabels then measuresFromConfusion. */
export function measuresFromLabels(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  numClasses: number,
  classNames?: string[],
  options?: MeasuresOptions,
): MeasuresView {
  return measuresFromConfusion(confusionFromLabels(yTrue, yPred, numClasses), classNames, options);
}

/** Scalar measures by name, for "best epoch by metric", ranking and curves. All are higher-is-better. */
export const METRIC_NAMES = [
  'accuracy',
  'balanced_accuracy',
  'micro_precision',
  'micro_recall',
  'micro_f1',
  'macro_precision',
  'macro_recall',
  'macro_f1',
  'weighted_precision',
  'weighted_recall',
  'weighted_f1',
] as const;

export type MetricName = (typeof METRIC_NAMES)[number];

export function isMetricName(v: unknown): v is MetricName {
  return typeof v === 'string' && (METRIC_NAMES as readonly string[]).includes(v);
}

export function metricValue(m: MeasuresView, name: MetricName): number {
  switch (name) {
    case 'accuracy':
      return m.accuracy;
    case 'balanced_accuracy':
      return m.balanced_accuracy;
    case 'micro_precision':
      return m.micro.precision;
    case 'micro_recall':
      return m.micro.recall;
    case 'micro_f1':
      return m.micro.f1;
    case 'macro_precision':
      return m.macro.precision;
    case 'macro_recall':
      return m.macro.recall;
    case 'macro_f1':
      return m.macro.f1;
    case 'weighted_precision':
      return m.weighted.precision;
    case 'weighted_recall':
      return m.weighted.recall;
    case 'weighted_f1':
      return m.weighted.f1;
  }
}

function divide(num: number, den: number): number {
  return den === 0 ? 0 : num / den;
}

// Same operation order as sklearn ((1 + beta^2) * p * r / (beta^2 * p + r)), so results agree to the ulp.
function f1Of(p: number, r: number): number {
  const den = p + r;
  return den === 0 ? 0 : (2 * p * r) / den;
}

function mean(xs: number[]): number {
  if (xs.length === 0) return 0;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Unweighted (weights null) or support-weighted mean of per-class P/R/F1; no weight at all -> 0. */
function average(classes: ClassMeasuresView[], weights: number[] | null): Prf {
  if (weights === null) {
    return {
      precision: mean(classes.map((c) => c.precision)),
      recall: mean(classes.map((c) => c.recall)),
      f1: mean(classes.map((c) => c.f1)),
    };
  }
  let wSum = 0;
  let p = 0;
  let r = 0;
  let f = 0;
  classes.forEach((c, i) => {
    const w = weights[i];
    wSum += w;
    p += c.precision * w;
    r += c.recall * w;
    f += c.f1 * w;
  });
  if (wSum === 0) return { precision: 0, recall: 0, f1: 0 };
  return { precision: p / wSum, recall: r / wSum, f1: f / wSum };
}
