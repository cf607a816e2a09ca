import { describe, expect, it } from '@jest/globals';
import { bestEpoch, confusionMatrixIssues, diffConfusion, assertConfusionMatrix } from './confusion.js';
import { MetricsInputError } from './errors.js';

function caught(fn: () => unknown): MetricsInputError {
  try {
    fn();
  } catch (e) {
    if (e instanceof MetricsInputError) return e;
    throw e;
  }
  throw new Error('expected MetricsInputError');
}

describe('confusionMatrixIssues', () => {
  it('accepts a square matrix of non-negative integers with matching names', () => {
    expect(confusionMatrixIssues([[0, 1], [2, 3]], ['a', 'b'])).toEqual([]);
    expect(confusionMatrixIssues([[7]])).toEqual([]);
  });

  it('reports each problem with the path of the offending field', () => {
    expect(confusionMatrixIssues('x')).toEqual([{ path: 'matrix', message: 'must be an array of rows, got "x"' }]);
    expect(confusionMatrixIssues([[1, 2], [3]]).map((i) => i.path)).toEqual(['matrix[1]']);
    expect(confusionMatrixIssues([[1, 2], 'row']).map((i) => i.path)).toEqual(['matrix[1]']);
    expect(confusionMatrixIssues([[1, -2], [3.5, Infinity]]).map((i) => i.path)).toEqual(['matrix[0][1]', 'matrix[1][0]', 'matrix[1][1]']);
    expect(confusionMatrixIssues([[1, '2'], [0, 1]])[0].message).toBe('must be a non-negative integer count, got "2"');
    expect(confusionMatrixIssues([[1, 0], [0, 1]], ['a', 'b', 'c'])[0]).toEqual({
      path: 'class_names',
      message: 'has 3 names but the matrix has 2 classes',
    });
    expect(confusionMatrixIssues([[1, 0], [0, 1]], ['a', 2]).map((i) => i.path)).toEqual(['class_names[1]']);
    expect(confusionMatrixIssues([[1]], 'a').map((i) => i.path)).toEqual(['class_names']);
    expect(confusionMatrixIssues([[1, 0], [0]], undefined, 'evaluations[2].matrix').map((i) => i.path)).toEqual(['evaluations[2].matrix[1]']);
  });

  it('caps the number of reported problems on a large malformed matrix', () => {
    const big = Array.from({ length: 100 }, () => Array.from({ length: 100 }, () => -1));
    const issues = confusionMatrixIssues(big);
    expect(issues.length).toBeGreaterThan(0);
    expect(issues.length).toBeLessThanOrEqual(20);
    expect(caught(() => assertConfusionMatrix(big)).message).toMatch(/and 15 more/);
  });
});

describe('diffConfusion', () => {
  const a = { matrix: [[8, 2], [4, 6]], class_names: ['cat', 'dog'] };
  const b = { matrix: [[9, 1], [2, 8]], class_names: ['cat', 'dog'] };

  it('gives cell-wise count and rate differences, b minus a', () => {
    const d = diffConfusion(a, b);
    expect(d.class_names).toEqual(['cat', 'dog']);
    expect(d.counts).toEqual([[1, -1], [-2, 2]]);
    expect(d.rates[0][0]).toBeCloseTo(0.1, 15);
    expect(d.rates[1][0]).toBeCloseTo(-0.2, 15);
    expect(d.recall_delta[0]).toBeCloseTo(0.1, 15);
    expect(d.recall_delta[1]).toBeCloseTo(0.2, 15);
    expect(d.a_total).toBe(20);
    expect(d.b_total).toBe(20);
    // The dog row moved most (0.2 of its class); the cat row (0.1) comes after.
    expect(d.changes.slice(0, 2).map((c) => [c.true_name, Math.abs(c.delta)])).toEqual([['dog', 2], ['dog', 2]]);
    expect(d.changes.slice(2).map((c) => c.true_name)).toEqual(['cat', 'cat']);
    expect(d.changes).toHaveLength(4);
  });

  it('compares shares of each true class when the test sets differ in size', () => {
    const d = diffConfusion({ matrix: [[5, 5], [0, 10]] }, { matrix: [[10, 10], [0, 20]] });
    expect(d.counts).toEqual([[5, 5], [0, 10]]);
    expect(d.rates).toEqual([[0, 0], [0, 0]]);
    expect(d.recall_delta).toEqual([0, 0]);
    // Counts changed, shares did not: still listed, ordered by |delta|.
    expect(d.changes.map((c) => c.delta)).toEqual([10, 5, 5]);
    expect(d.class_names).toEqual(['0', '1']);
  });

  it('an identical pair has no changes', () => {
    const d = diffConfusion(a, { matrix: a.matrix.map((r) => [...r]), class_names: ['cat', 'dog'] });
    expect(d.changes).toEqual([]);
    expect(d.counts).toEqual([[0, 0], [0, 0]]);
  });

  it('refuses matrices of different classes or invalid ones, naming the side', () => {
    expect(caught(() => diffConfusion(a, { matrix: [[1]] })).issues[0].path).toBe('b.matrix');
    expect(caught(() => diffConfusion(a, { ...b, class_names: ['cat', 'fox'] })).issues[0].path).toBe('b.class_names[1]');
    expect(caught(() => diffConfusion({ matrix: [[1, 2]] }, b)).issues[0].path).toBe('a.matrix[0]');
    expect(caught(() => diffConfusion(a, { matrix: [[1, 0], [0, 1]], class_names: ['cat'] })).issues[0].path).toBe('b.matrix.class_names');
  });
});

describe('bestEpoch', () => {
  // Epoch 2 has the best accuracy; epoch 3 has the best macro F1 (the minority class is recovered).
  const evaluations = [
    { epoch: 1, matrix: [[50, 0], [10, 0]], loss: 0.9 },
    { epoch: 2, matrix: [[50, 0], [5, 5]], loss: 0.5 },
    { epoch: 3, matrix: [[45, 5], [1, 9]], loss: 0.6 },
  ];

  it('picks the epoch with the highest measure', () => {
    expect(bestEpoch(evaluations, 'accuracy')).toEqual({ epoch: 2, value: 55 / 60, metric: 'accuracy', index: 1 });
    expect(bestEpoch(evaluations, 'macro_f1')?.epoch).toBe(3);
    expect(bestEpoch(evaluations, 'balanced_accuracy')?.epoch).toBe(3);
  });

  it("'loss' is lower-is-better and reads the evaluation's loss", () => {
    expect(bestEpoch(evaluations, 'loss')).toMatchObject({ epoch: 2, value: 0.5 });
    expect(bestEpoch([{ epoch: 1, matrix: [[1]] }], 'loss')).toBeNull();
  });

  it('ties go to the earliest epoch whatever the input order', () => {
    const tied = [
      { epoch: 4, matrix: [[3, 1], [0, 4]] },
      { epoch: 2, matrix: [[4, 0], [1, 3]] },
      { epoch: 3, matrix: [[2, 2], [0, 4]] },
    ];
    expect(bestEpoch(tied, 'accuracy')).toMatchObject({ epoch: 2, index: 1 });
  });

  it('skips evaluations with broken matrices and returns null when nothing qualifies', () => {
    const withBad = [{ epoch: 1, matrix: [[1, 2]] }, { epoch: 2, matrix: [[1, 0], [0, 1]] }];
    expect(bestEpoch(withBad, 'accuracy')).toMatchObject({ epoch: 2, value: 1 });
    expect(bestEpoch([], 'accuracy')).toBeNull();
    expect(bestEpoch([{ epoch: 1, matrix: [[1, -1], [0, 0]] }], 'macro_f1')).toBeNull();
  });

  it('rejects an unknown metric name', () => {
    expect(caught(() => bestEpoch(evaluations, 'f2' as 'loss')).issues[0].path).toBe('metric');
  });
});
