import { describe, expect, it } from '@jest/globals';
import type { SeriesView } from '../contracts/api.js';
import { defaultRunSpec, type RunSpec } from '../contracts/spec.js';
import { measuresFromConfusion } from './classification.js';
import { compareRuns, describeVariant, type CompareRunInput } from './compare.js';
import { MetricsInputError } from './errors.js';

/** Points as [step, epoch, value]; wall_time follows step. */
function s(points: [number, number, number][]): SeriesView {
  return {
    step: points.map((p) => p[0]),
    epoch: points.map((p) => p[1]),
    value: points.map((p) => p[2]),
    wall_time: points.map((p) => 1_700_000_000 + p[0]),
  };
}

function spec(patch: (s: RunSpec) => void): RunSpec {
  const out = defaultRunSpec();
  patch(out);
  return out;
}

const T0 = '2025-01-01T00:00:00.000Z';

// A: fewer errors on the minority class; B: slightly more accurate overall but misses the minority class.
const A_FINAL = [
  [80, 10],
  [2, 8],
];
const B_FINAL = [
  [88, 2],
  [9, 1],
];

function runA(): CompareRunInput {
  return {
    id: 'a',
    name: 'scratch',
    status: 'succeeded',
    spec: defaultRunSpec(),
    series: {
      // Intra-epoch points (steps 5, 15) must not count: the epoch's value is its last point.
      train_loss: s([[5, 1, 2.5], [10, 1, 1.2], [15, 2, 0.9], [20, 2, 0.7], [30, 3, 0.8]]),
      train_acc: s([[10, 1, 0.6], [20, 2, 0.8], [30, 3, 0.85]]),
      epoch_seconds: s([[10, 1, 22], [20, 2, 18], [30, 3, 20]]),
      images_per_s: s([[10, 1, 500], [20, 2, 600], [30, 3, 550]]),
    },
    evaluations: [
      { epoch: 1, matrix: [[90, 0], [10, 0]], loss: 0.6 },
      { epoch: 3, matrix: A_FINAL, loss: 0.4 },
      { epoch: 2, matrix: [[85, 5], [3, 7]], loss: 0.35 },
    ],
    devices: 1,
    started_at: T0,
    ended_at: '2025-01-01T02:00:00.000Z',
  };
}

function runB(): CompareRunInput {
  return {
    id: 'b',
    name: 'pretrained',
    status: 'succeeded',
    spec: spec((x) => (x.model.pretrained = true)),
    series: {
      train_loss: s([[10, 1, 0.5], [20, 2, 0.3]]),
      epoch_seconds: s([[10, 1, 10], [20, 2, 10]]),
    },
    evaluations: [
      { epoch: 1, matrix: [[86, 4], [9, 1]] },
      { epoch: 2, matrix: B_FINAL },
    ],
    devices: 2,
    started_at: T0,
    ended_at: '2025-01-01T00:30:00.000Z',
  };
}

function runC(): CompareRunInput {
  return {
    id: 'c',
    name: 'cpu',
    status: 'running',
    spec: spec((x) => {
      x.model.maxpool = false;
      x.model.conv1 = { kernel: 5, stride: 1, padding: 2 };
    }),
    series: { epoch_seconds: s([[10, 1, 100]]), train_loss: s([[10, 1, NaN]]) },
    evaluations: [
      { epoch: 1, matrix: [[70, 20], [5, 5]] },
      { epoch: 2, matrix: [[1, 2]] }, // malformed row: skipped with a warning
    ],
    devices: 0,
    started_at: T0,
    ended_at: null,
  };
}

function runD(): CompareRunInput {
  return {
    id: 'd',
    name: 'series only',
    status: 'failed',
    spec: defaultRunSpec(),
    series: { test_acc: s([[10, 1, 0.5], [20, 2, 0.7], [30, 3, 0.65]]) },
    evaluations: [],
    devices: 1,
    started_at: null,
    ended_at: null,
  };
}

const NOW = Date.parse('2025-01-01T03:00:00.000Z');

describe('compareRuns table', () => {
  const res = compareRuns([runA(), runB(), runC(), runD()], { now: NOW });
  const [a, b, c, d] = res.runs;

  it('takes final values from the highest epoch, not the last array entry', () => {
    expect(a.final.epoch).toBe(3);
    expect(a.final.test_acc).toBeCloseTo(88 / 100, 15);
    expect(a.final.macro_f1).toBe(measuresFromConfusion(A_FINAL).macro.f1);
    expect(a.final.micro_f1).toBeCloseTo(0.88, 15);
    expect(a.final.test_loss).toBe(0.4);
    expect(a.final.train_loss).toBe(0.8);
    expect(a.test_acc_source).toBe('evaluation');
    expect(a.epochs_evaluated).toBe(3);
  });

  it('takes best values over epochs (max accuracy / F1, min loss of the per-epoch values)', () => {
    expect(a.best.test_acc).toEqual({ epoch: 2, value: 0.92 });
    expect(a.best.macro_f1?.epoch).toBe(2);
    expect(a.best.train_loss).toEqual({ epoch: 2, value: 0.7 }); // not 0.9 (intra-epoch) nor 2.5
    expect(b.best.test_acc).toEqual({ epoch: 2, value: 0.89 });
  });

  it('averages cost per epoch and throughput, and counts GPU and CPU hours separately', () => {
    expect(a.seconds_per_epoch).toBe(20);
    expect(a.images_per_s).toBe(550);
    expect(a.wall_hours).toBe(2);
    expect(a.gpu_hours).toBe(2);
    expect(a.cpu_hours).toBe(0);
    expect(b.gpu_hours).toBe(1); // 2 GPUs x 0.5 h
    expect(b.images_per_s).toBeNull();
    expect(c.wall_hours).toBe(3); // still running: until `now`
    expect(c.gpu_hours).toBe(0);
    expect(c.cpu_hours).toBe(3);
    expect(d.wall_hours).toBeNull();
    expect(res.totals).toEqual({ gpu_hours: 3, cpu_hours: 3 });
  });

  it('skips bad evaluations and non-finite values with warnings instead of failing', () => {
    expect(c.epochs_evaluated).toBe(1);
    expect(c.final.epoch).toBe(1);
    expect(c.final.train_loss).toBeNull();
    expect(c.best.train_loss).toBeNull();
    expect(c.warnings.join('\n')).toMatch(/evaluation of epoch 2: matrix\[0\]/);
    expect(c.warnings.join('\n')).toMatch(/train_loss is not finite at epoch 1/);
  });

  it('falls back to the test_acc series when a run has no evaluation, and has no F1 then', () => {
    expect(d.test_acc_source).toBe('series');
    expect(d.final.test_acc).toBe(0.65);
    expect(d.best.test_acc).toEqual({ epoch: 2, value: 0.7 });
    expect(d.final.macro_f1).toBeNull();
    expect(d.best.macro_f1).toBeNull();
  });

  it('ranks by final accuracy and by final macro F1, ties sharing a rank', () => {
    // accuracy: b .89, a .88, c .75, d .65 ; macro F1 (values from sklearn): a .7508, c .5671, b .5475, d none
    expect([a.rank.test_acc, b.rank.test_acc, c.rank.test_acc, d.rank.test_acc]).toEqual([2, 1, 3, 4]);
    expect([a.rank.macro_f1, b.rank.macro_f1, c.rank.macro_f1]).toEqual([1, 3, 2]);
    expect(a.final.macro_f1).toBeCloseTo(0.7508305647840532, 12);
    expect(c.final.macro_f1).toBeCloseTo(0.5670995670995671, 12);
    expect(b.final.macro_f1).toBeCloseTo(0.5475113122171945, 12);
    expect(d.rank.macro_f1).toBeNull();
  });

  it('gives equal values the same rank', () => {
    const twin = { ...runA(), id: 'a2' };
    const rows = compareRuns([runA(), runB(), twin]).runs;
    expect(rows.map((r) => r.rank.test_acc)).toEqual([2, 1, 2]);
    expect(rows.map((r) => r.rank.macro_f1)).toEqual([1, 3, 1]);
  });

  it('describes the variant', () => {
    expect(a.variant).toBe('scratch · 36px · adam lr=0.001 · bs=64 · 1 GPU');
    expect(c.variant).toBe('scratch · 36px · conv1 5x5/s1 · no maxpool · adam lr=0.001 · bs=64 · CPU');
    expect(describeVariant(spec((x) => (x.data.resize = 224)), 0)).toContain('224px');
  });
});

describe('rank_disagreements and dominates', () => {
  it('flags a pair ranked one way by accuracy and the other by macro F1', () => {
    const res = compareRuns([runA(), runB()], { now: NOW });
    expect(res.runs[1].final.test_acc!).toBeGreaterThan(res.runs[0].final.test_acc!);
    expect(res.runs[1].final.macro_f1!).toBeLessThan(res.runs[0].final.macro_f1!);
    expect(res.rank_disagreements).toEqual([
      {
        higher_accuracy: 'b',
        higher_macro_f1: 'a',
        test_acc: [res.runs[1].final.test_acc, res.runs[0].final.test_acc],
        macro_f1: [res.runs[1].final.macro_f1, res.runs[0].final.macro_f1],
      },
    ]);
  });

  it('does not flag pairs that agree or tie', () => {
    const agree = runB();
    agree.evaluations = [{ epoch: 2, matrix: [[89, 1], [1, 9]] }]; // better on both
    expect(compareRuns([runA(), agree]).rank_disagreements).toEqual([]);
    const tie = runB();
    tie.evaluations = [{ epoch: 3, matrix: A_FINAL }];
    expect(compareRuns([runA(), tie]).rank_disagreements).toEqual([]);
  });

  it('lists every run that is both cheaper and better than another', () => {
    const res = compareRuns([runA(), runB(), runC(), runD()], { now: NOW });
    const pairs = res.dominates.map((x) => `${x.winner}>${x.loser}`).sort();
    // b: 10 s/epoch .89 ; a: 20 s .88 ; c: 100 s .75 ; d: no cost -> never in a pair
    expect(pairs).toEqual(['a>c', 'b>a', 'b>c']);
    expect(res.dominates.find((x) => x.winner === 'b' && x.loser === 'a')).toEqual({
      winner: 'b',
      loser: 'a',
      seconds_per_epoch: [10, 20],
      test_acc: [0.89, 0.88],
    });
  });

  it('cheaper but worse, or better but dearer, is not domination', () => {
    const slowBetter = runB();
    slowBetter.series.epoch_seconds = s([[10, 1, 30]]);
    expect(compareRuns([runA(), slowBetter]).dominates).toEqual([]);
  });
});

describe('curves', () => {
  it('aligns default curves on the union of epochs, null where a run has no value', () => {
    const res = compareRuns([runA(), runB(), runD()], { now: NOW });
    expect(Object.keys(res.curves)).toEqual(['train_loss', 'train_acc', 'test_acc', 'eval.macro_f1']);
    expect(res.curves.train_loss).toEqual({ epochs: [1, 2, 3], values: { a: [1.2, 0.7, 0.8], b: [0.5, 0.3, null], d: [null, null, null] } });
    expect(res.curves.test_acc.values.d).toEqual([0.5, 0.7, 0.65]);
    expect(res.curves['eval.macro_f1'].epochs).toEqual([1, 2, 3]);
    expect(res.curves['eval.macro_f1'].values.b[1]).toBe(measuresFromConfusion(B_FINAL).macro.f1);
    expect(res.curves['eval.macro_f1'].values.d).toEqual([null, null, null]);
  });

  it('supports chosen series keys and evaluation measures, with NaN as null', () => {
    const res = compareRuns([runA(), runC()], { now: NOW, curve_keys: ['eval.accuracy', 'eval.loss', 'train_loss', 'gpu_mem_mb'] });
    expect(res.curves['eval.accuracy']).toEqual({ epochs: [1, 2, 3], values: { a: [0.9, 0.92, 0.88], c: [0.75, null, null] } });
    expect(res.curves['eval.loss'].values.a).toEqual([0.6, 0.35, 0.4]);
    expect(res.curves.train_loss.values.c).toEqual([null, null, null]);
    expect(res.curves.gpu_mem_mb).toEqual({ epochs: [], values: { a: [], c: [] } });
  });
});

describe('input validation', () => {
  function issuePaths(fn: () => unknown): string[] {
    try {
      fn();
    } catch (e) {
      if (e instanceof MetricsInputError) return e.issues.map((i) => i.path);
      throw e;
    }
    return [];
  }

  it('an empty set compares to an empty answer', () => {
    expect(compareRuns([])).toEqual({ runs: [], curves: { train_loss: { epochs: [], values: {} }, train_acc: { epochs: [], values: {} }, test_acc: { epochs: [], values: {} }, 'eval.macro_f1': { epochs: [], values: {} } }, rank_disagreements: [], dominates: [], totals: { gpu_hours: 0, cpu_hours: 0 } });
  });

  it('rejects duplicate ids, wrong types and unknown evaluation measures with paths', () => {
    expect(issuePaths(() => compareRuns([runA(), runA()]))).toEqual(['runs[1].id']);
    expect(issuePaths(() => compareRuns([{ ...runA(), evaluations: 'x' as unknown as [] }]))).toEqual(['runs[0].evaluations']);
    expect(issuePaths(() => compareRuns([runA()], { curve_keys: ['eval.f3', ''] }))).toEqual(['curve_keys[0]', 'curve_keys[1]']);
    expect(issuePaths(() => compareRuns([runA()], { now: NaN }))).toEqual(['now']);
    expect(issuePaths(() => compareRuns(null as unknown as []))).toEqual(['runs']);
  });

  it('bad dates and device counts become warnings and null hours', () => {
    const r = { ...runA(), started_at: 'yesterday', devices: -1 };
    const row = compareRuns([r]).runs[0];
    expect(row.wall_hours).toBeNull();
    expect(row.gpu_hours).toBeNull();
    expect(row.warnings.join('\n')).toMatch(/started_at is not a date/);
    expect(row.warnings.join('\n')).toMatch(/devices must be a non-negative integer/);
  });
});
