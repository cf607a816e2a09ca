// Comparison of any set of runs (POST /api/compare): final and best values, cost, curves aligned by
// epoch, and the two questions the notebook asks of its runs — do accuracy and macro F1 rank them
// differently, and is one run both cheaper and better than another? Pure: the caller loads the runs.
//
// Conventions (docs/metrics.md):
// - Test accuracy and F1 come from the stored evaluations (confusion matrices), measured by
//   classification.ts; a run without usable evaluations falls back to its `test_acc` series for
//   accuracy (marked by test_acc_source), and has no F1.
// - A series is read per epoch as the last point of each epoch (the highest step): trainers also send
//   points inside an epoch so live curves move, and those partial values must not count as epochs.
// - "final" is the highest epoch; "best" is the highest accuracy / F1 or the lowest loss, earliest
//   epoch on ties. Non-finite values (a diverged loss) are never best and are reported as null.

import type { MeasuresView, RunStatus, SeriesView } from '../contracts/api.js';
import type { RunSpec } from '../contracts/spec.js';
import { isMetricName, measuresFromConfusion, type MetricName, metricValue } from './classification.js';
import { MetricsInputError, type MetricsIssue } from './errors.js';
import { confusionMatrixIssues } from './matrix-validation.js';

// ---- input -------------------------------------------------------------------------------------

export interface CompareEvaluationInput {
  epoch: number;
  /** matrix[true][pred] counts. */
  matrix: number[][];
  class_names?: string[];
  /** Test loss of this evaluation, when stored. */
  loss?: number | null;
}

export interface CompareRunInput {
  id: string;
  name: string;
  status: RunStatus;
  spec: RunSpec;
  series: Record<string, SeriesView>;
  evaluations: CompareEvaluationInput[];
  /** How many GPUs the run held; 0 = it ran in a CPU slot. */
  devices: number;
  started_at: string | null;
  ended_at: string | null;
}

export interface CompareOptions {
  /** Curves to align; a series key, or `eval.<measure>` (e.g. eval.macro_f1, eval.loss) from evaluations. */
  curve_keys?: string[];
  /** Clock for the wall time of runs still running (ms since epoch or a Date); defaults to Date.now(). */
  now?: number | Date;
}

// ---- output ------------------------------------------------------------------------------------

export interface ValueAtEpoch {
  value: number;
  epoch: number;
}

export interface CompareFinalValues {
  /** Highest epoch with any data; null when the run has none. */
  epoch: number | null;
  test_acc: number | null;
  macro_f1: number | null;
  micro_f1: number | null;
  balanced_accuracy: number | null;
  train_loss: number | null;
  test_loss: number | null;
}

export interface CompareBestValues {
  test_acc: ValueAtEpoch | null;
  macro_f1: ValueAtEpoch | null;
  micro_f1: ValueAtEpoch | null;
  /** Lowest per-epoch train loss. */
  train_loss: ValueAtEpoch | null;
}

export interface CompareRow {
  id: string;
  name: string;
  status: RunStatus;
  /** Short human description of the variant, e.g. "pretrained · 36px · conv1 5x5/s1 · adam lr=0.001 · bs=64 · 1 GPU". */
  variant: string;
  epochs_evaluated: number;
  final: CompareFinalValues;
  best: CompareBestValues;
  /** Where test_acc came from: the confusion matrices, the `test_acc` series, or nowhere. */
  test_acc_source: 'evaluation' | 'series' | null;
  /** Mean of the per-epoch `epoch_seconds` values. */
  seconds_per_epoch: number | null;
  /** Mean of the per-epoch `images_per_s` values. */
  images_per_s: number | null;
  /** started_at to ended_at (or `now` while running), in hours. */
  wall_hours: number | null;
  /** devices x wall_hours; 0 for a CPU run. */
  gpu_hours: number | null;
  /** wall_hours for a CPU run (devices = 0); 0 for a GPU run. */
  cpu_hours: number | null;
  /** 1 = best final value; equal values share a rank; null when the run has no value. */
  rank: { test_acc: number | null; macro_f1: number | null };
  /** Problems with this run's data that were skipped rather than failing the comparison. */
  warnings: string[];
}

/** Values per run aligned on the union of epochs; null where a run has no (finite) value. */
export interface CompareCurve {
  epochs: number[];
  values: Record<string, (number | null)[]>;
}

/** Two runs ranked one way by final test accuracy and the other way by final macro F1. */
export interface RankDisagreement {
  /** The run with the higher test accuracy (and the lower macro F1). */
  higher_accuracy: string;
  higher_macro_f1: string;
  /** [higher_accuracy's, higher_macro_f1's] */
  test_acc: [number, number];
  macro_f1: [number, number];
}

/** `winner` is both cheaper (fewer seconds per epoch) and better (higher final test accuracy) than `loser`. */
export interface Dominance {
  winner: string;
  loser: string;
  /** [winner's, loser's] */
  seconds_per_epoch: [number, number];
  test_acc: [number, number];
}

export interface CompareResponse {
  runs: CompareRow[];
  curves: Record<string, CompareCurve>;
  rank_disagreements: RankDisagreement[];
  dominates: Dominance[];
  totals: { gpu_hours: number; cpu_hours: number };
}

export const DEFAULT_CURVE_KEYS: readonly string[] = ['train_loss', 'train_acc', 'test_acc', 'eval.macro_f1'];
export const MAX_CURVE_KEYS = 32;

/** Values closer than this are equal: they come from float arithmetic on integer counts. */
const EPS = 1e-12;

const RUNNING_STATUSES: readonly RunStatus[] = ['assigned', 'running'];

// ---- the comparison ----------------------------------------------------------------------------

export function compareRuns(runs: readonly CompareRunInput[], options: CompareOptions = {}): CompareResponse {
  validateInput(runs, options);
  const now = options.now === undefined ? Date.now() : options.now instanceof Date ? options.now.getTime() : options.now;
  const curveKeys = options.curve_keys ?? DEFAULT_CURVE_KEYS;

  const prepared = runs.map((run) => prepare(run, now));
  const rows = prepared.map((p) => p.row);
  assignRanks(rows, (r) => r.final.test_acc, (r, rank) => (r.rank.test_acc = rank));
  assignRanks(rows, (r) => r.final.macro_f1, (r, rank) => (r.rank.macro_f1 = rank));

  const curves: Record<string, CompareCurve> = {};
  for (const key of curveKeys) curves[key] = alignCurve(prepared, key);

  let gpu = 0;
  let cpu = 0;
  for (const r of rows) {
    gpu += r.gpu_hours ?? 0;
    cpu += r.cpu_hours ?? 0;
  }
  return { runs: rows, curves, rank_disagreements: rankDisagreements(rows), dominates: dominance(rows), totals: { gpu_hours: gpu, cpu_hours: cpu } };
}

interface MeasuredEvaluation {
  epoch: number;
  measures: MeasuresView;
  loss: number | null;
}

interface Prepared {
  row: CompareRow;
  /** Per series key: epoch -> last value of the epoch (may be non-finite). */
  perEpoch: Map<string, Map<number, number>>;
  /** By epoch, the last evaluation stored for it. */
  evaluations: Map<number, MeasuredEvaluation>;
}

function prepare(run: CompareRunInput, now: number): Prepared {
  const warnings: string[] = [];
  const perEpoch = new Map<string, Map<number, number>>();
  for (const [key, s] of Object.entries(run.series ?? {})) {
    const m = lastPerEpoch(s);
    if (m === null) warnings.push(`series ${key}: columns have different lengths; ignored`);
    else perEpoch.set(key, m);
  }

  const evaluations = new Map<number, MeasuredEvaluation>();
  (run.evaluations ?? []).forEach((ev, i) => {
    if (ev === null || typeof ev !== 'object' || !Number.isFinite(ev.epoch)) {
      warnings.push(`evaluations[${i}]: no valid epoch; ignored`);
      return;
    }
    const issues = confusionMatrixIssues(ev.matrix, ev.class_names);
    if (issues.length > 0) {
      warnings.push(`evaluation of epoch ${ev.epoch}: ${issues[0].path} ${issues[0].message}; ignored`);
      return;
    }
    const loss = typeof ev.loss === 'number' && Number.isFinite(ev.loss) ? ev.loss : null;
    evaluations.set(ev.epoch, { epoch: ev.epoch, measures: measuresFromConfusion(ev.matrix, ev.class_names), loss });
  });
  const evals = [...evaluations.values()].sort((a, b) => a.epoch - b.epoch);
  const finalEval = evals.length > 0 ? evals[evals.length - 1] : null;

  const trainLoss = perEpoch.get('train_loss');
  const testAccSeries = perEpoch.get('test_acc');
  const finalTrainLoss = lastEntry(trainLoss);
  if (finalTrainLoss && !Number.isFinite(finalTrainLoss.value)) {
    warnings.push(`train_loss is not finite at epoch ${finalTrainLoss.epoch}`);
  }

  let testAccSource: CompareRow['test_acc_source'] = null;
  let finalTestAcc: number | null = null;
  let bestTestAcc: ValueAtEpoch | null = null;
  if (finalEval) {
    testAccSource = 'evaluation';
    finalTestAcc = finalEval.measures.accuracy;
    bestTestAcc = bestOf(evals.map((e) => ({ epoch: e.epoch, value: e.measures.accuracy })), 'max');
  } else if (testAccSeries && testAccSeries.size > 0) {
    testAccSource = 'series';
    finalTestAcc = finite(lastEntry(testAccSeries)!.value);
    bestTestAcc = bestOf(entries(testAccSeries), 'max');
  }

  const epochCandidates = [...perEpoch.values()].flatMap((m) => [...m.keys()]).concat(evals.map((e) => e.epoch));
  const finalEpoch = epochCandidates.length > 0 ? Math.max(...epochCandidates) : null;

  const wallHours = hoursOf(run, now, warnings);
  let gpuHours: number | null = null;
  let cpuHours: number | null = null;
  if (!Number.isSafeInteger(run.devices) || run.devices < 0) {
    warnings.push(`devices must be a non-negative integer, got ${String(run.devices)}; no GPU/CPU hours`);
  } else if (wallHours !== null) {
    gpuHours = run.devices > 0 ? run.devices * wallHours : 0;
    cpuHours = run.devices === 0 ? wallHours : 0;
  }

  const pick = (name: MetricName): number | null => (finalEval ? metricValue(finalEval.measures, name) : null);
  const best = (name: MetricName) => bestOf(evals.map((e) => ({ epoch: e.epoch, value: metricValue(e.measures, name) })), 'max');

  const row: CompareRow = {
    id: run.id,
    name: run.name,
    status: run.status,
    variant: describeVariant(run.spec, run.devices),
    epochs_evaluated: evals.length,
    final: {
      epoch: finalEpoch,
      test_acc: finalTestAcc,
      macro_f1: pick('macro_f1'),
      micro_f1: pick('micro_f1'),
      balanced_accuracy: pick('balanced_accuracy'),
      train_loss: finalTrainLoss ? finite(finalTrainLoss.value) : null,
      test_loss: finalEval ? finalEval.loss : null,
    },
    best: {
      test_acc: bestTestAcc,
      macro_f1: best('macro_f1'),
      micro_f1: best('micro_f1'),
      train_loss: trainLoss ? bestOf(entries(trainLoss), 'min') : null,
    },
    test_acc_source: testAccSource,
    seconds_per_epoch: meanOf(perEpoch.get('epoch_seconds')),
    images_per_s: meanOf(perEpoch.get('images_per_s')),
    wall_hours: wallHours,
    gpu_hours: gpuHours,
    cpu_hours: cpuHours,
    rank: { test_acc: null, macro_f1: null },
    warnings,
  };
  return { row, perEpoch, evaluations };
}

function alignCurve(prepared: Prepared[], key: string): CompareCurve {
  const evalMeasure = key.startsWith('eval.') ? key.slice(5) : null;
  const perRun = prepared.map((p): Map<number, number> => {
    if (evalMeasure === null) return p.perEpoch.get(key) ?? new Map();
    const m = new Map<number, number>();
    for (const [epoch, ev] of p.evaluations) {
      const v = evalMeasure === 'loss' ? ev.loss : metricValue(ev.measures, evalMeasure as MetricName);
      if (v !== null) m.set(epoch, v);
    }
    return m;
  });
  const epochs = [...new Set(perRun.flatMap((m) => [...m.keys()]))].sort((a, b) => a - b);
  const values: Record<string, (number | null)[]> = {};
  prepared.forEach((p, i) => {
    values[p.row.id] = epochs.map((e) => {
      const v = perRun[i].get(e);
      return v === undefined ? null : finite(v);
    });
  });
  return { epochs, values };
}

function rankDisagreements(rows: CompareRow[]): RankDisagreement[] {
  const out: RankDisagreement[] = [];
  for (let i = 0; i < rows.length; i++) {
    for (let j = i + 1; j < rows.length; j++) {
      const a = rows[i];
      const b = rows[j];
      const accA = a.final.test_acc;
      const accB = b.final.test_acc;
      const f1A = a.final.macro_f1;
      const f1B = b.final.macro_f1;
      if (accA === null || accB === null || f1A === null || f1B === null) continue;
      const dAcc = accA - accB;
      const dF1 = f1A - f1B;
      if (Math.abs(dAcc) <= EPS || Math.abs(dF1) <= EPS || Math.sign(dAcc) === Math.sign(dF1)) continue;
      const [hi, lo] = dAcc > 0 ? [a, b] : [b, a];
      out.push({
        higher_accuracy: hi.id,
        higher_macro_f1: lo.id,
        test_acc: [hi.final.test_acc!, lo.final.test_acc!],
        macro_f1: [hi.final.macro_f1!, lo.final.macro_f1!],
      });
    }
  }
  return out;
}

function dominance(rows: CompareRow[]): Dominance[] {
  const out: Dominance[] = [];
  for (const w of rows) {
    for (const l of rows) {
      if (w === l) continue;
      const sw = w.seconds_per_epoch;
      const sl = l.seconds_per_epoch;
      const aw = w.final.test_acc;
      const al = l.final.test_acc;
      if (sw === null || sl === null || aw === null || al === null) continue;
      if (sw < sl && aw - al > EPS) out.push({ winner: w.id, loser: l.id, seconds_per_epoch: [sw, sl], test_acc: [aw, al] });
    }
  }
  return out;
}

/** Standard competition ranking ("1224"), highest value first; values within EPS tie. */
function assignRanks(rows: CompareRow[], get: (r: CompareRow) => number | null, set: (r: CompareRow, rank: number) => void): void {
  const ranked = rows.filter((r) => get(r) !== null).sort((a, b) => get(b)! - get(a)!);
  let rank = 0;
  ranked.forEach((r, i) => {
    if (i === 0 || get(ranked[i - 1])! - get(r)! > EPS) rank = i + 1;
    set(r, rank);
  });
}

// ---- helpers -----------------------------------------------------------------------------------

/** epoch -> value of the point with the highest step in that epoch; null if the columns disagree. */
function lastPerEpoch(s: SeriesView): Map<number, number> | null {
  if (!s || !Array.isArray(s.step) || !Array.isArray(s.epoch) || !Array.isArray(s.value)) return null;
  if (s.step.length !== s.epoch.length || s.step.length !== s.value.length) return null;
  const bestStep = new Map<number, number>();
  const out = new Map<number, number>();
  for (let i = 0; i < s.step.length; i++) {
    const e = s.epoch[i];
    if (!Number.isFinite(e)) continue;
    const prev = bestStep.get(e);
    if (prev === undefined || s.step[i] >= prev) {
      bestStep.set(e, s.step[i]);
      out.set(e, s.value[i]);
    }
  }
  return out;
}

function entries(m: Map<number, number>): ValueAtEpoch[] {
  return [...m.entries()].map(([epoch, value]) => ({ epoch, value })).sort((a, b) => a.epoch - b.epoch);
}

function lastEntry(m: Map<number, number> | undefined): ValueAtEpoch | null {
  if (!m || m.size === 0) return null;
  const e = Math.max(...m.keys());
  return { epoch: e, value: m.get(e)! };
}

/** Best finite value; ties go to the earliest epoch. */
function bestOf(xs: ValueAtEpoch[], mode: 'max' | 'min'): ValueAtEpoch | null {
  let best: ValueAtEpoch | null = null;
  for (const x of [...xs].sort((a, b) => a.epoch - b.epoch)) {
    if (!Number.isFinite(x.value)) continue;
    if (best === null || (mode === 'max' ? x.value > best.value : x.value < best.value)) best = { epoch: x.epoch, value: x.value };
  }
  return best;
}

function meanOf(m: Map<number, number> | undefined): number | null {
  if (!m) return null;
  const xs = [...m.values()].filter(Number.isFinite);
  if (xs.length === 0) return null;
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}

function finite(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

function hoursOf(run: CompareRunInput, now: number, warnings: string[]): number | null {
  if (run.started_at === null || run.started_at === undefined) return null;
  const start = Date.parse(run.started_at);
  if (!Number.isFinite(start)) {
    warnings.push(`started_at is not a date: ${JSON.stringify(run.started_at)}`);
    return null;
  }
  let end: number;
  if (run.ended_at !== null && run.ended_at !== undefined) {
    end = Date.parse(run.ended_at);
    if (!Number.isFinite(end)) {
      warnings.push(`ended_at is not a date: ${JSON.stringify(run.ended_at)}`);
      return null;
    }
  } else if (RUNNING_STATUSES.includes(run.status)) {
    end = now;
  } else {
    return null;
  }
  if (end < start) {
    warnings.push('ended_at is before started_at');
    return null;
  }
  return (end - start) / 3_600_000;
}

/** One line naming what distinguishes the variant; tolerant of partial specs from old rows. */
export function describeVariant(spec: RunSpec, devices?: number): string {
  const parts: string[] = [];
  const model = spec?.model;
  const data = spec?.data;
  if (model) {
    parts.push(model.pretrained === false ? 'scratch' : model.pretrained === true ? 'pretrained' : 'pretrained (file)');
  }
  if (data) {
    const size = data.resize ?? data.pad_to;
    parts.push(size ? `${size}px` : 'native size');
  }
  if (model?.conv1) parts.push(`conv1 ${model.conv1.kernel}x${model.conv1.kernel}/s${model.conv1.stride}`);
  if (model && model.maxpool === false) parts.push('no maxpool');
  if (spec?.optim) parts.push(`${spec.optim.name} lr=${spec.optim.lr}`);
  if (spec?.train) parts.push(`bs=${spec.train.batch_size}`);
  const gpus = devices ?? spec?.resources?.gpus;
  if (typeof gpus === 'number') parts.push(gpus > 0 ? `${gpus} GPU` : 'CPU');
  return parts.join(' · ');
}

function validateInput(runs: readonly CompareRunInput[], options: CompareOptions): void {
  const issues: MetricsIssue[] = [];
  if (!Array.isArray(runs)) throw new MetricsInputError([{ path: 'runs', message: 'must be an array' }]);
  const seen = new Set<string>();
  runs.forEach((r, i) => {
    if (r === null || typeof r !== 'object') {
      issues.push({ path: `runs[${i}]`, message: 'must be an object' });
      return;
    }
    if (typeof r.id !== 'string' || r.id.length === 0) issues.push({ path: `runs[${i}].id`, message: 'must be a non-empty string' });
    else if (seen.has(r.id)) issues.push({ path: `runs[${i}].id`, message: `${JSON.stringify(r.id)} appears twice` });
    else seen.add(r.id);
    if (r.series !== undefined && (r.series === null || typeof r.series !== 'object' || Array.isArray(r.series))) {
      issues.push({ path: `runs[${i}].series`, message: 'must be an object of series by key' });
    }
    if (r.evaluations !== undefined && !Array.isArray(r.evaluations)) {
      issues.push({ path: `runs[${i}].evaluations`, message: 'must be an array' });
    }
  });
  const keys = options.curve_keys;
  if (keys !== undefined) {
    if (!Array.isArray(keys)) issues.push({ path: 'curve_keys', message: 'must be an array of strings' });
    else {
      if (keys.length > MAX_CURVE_KEYS) issues.push({ path: 'curve_keys', message: `at most ${MAX_CURVE_KEYS} keys, got ${keys.length}` });
      keys.forEach((k, i) => {
        if (typeof k !== 'string' || k.length === 0) issues.push({ path: `curve_keys[${i}]`, message: 'must be a non-empty string' });
        else if (k.startsWith('eval.') && k !== 'eval.loss' && !isMetricName(k.slice(5))) {
          issues.push({ path: `curve_keys[${i}]`, message: `unknown evaluation measure ${JSON.stringify(k.slice(5))}` });
        }
      });
      if (new Set(keys).size !== keys.length) issues.push({ path: 'curve_keys', message: 'contains duplicates' });
    }
  }
  if (options.now !== undefined && !(options.now instanceof Date ? Number.isFinite(options.now.getTime()) : Number.isFinite(options.now))) {
    issues.push({ path: 'now', message: 'must be a valid time' });
  }
  if (issues.length > 0) throw new MetricsInputError(issues);
}
