import { describe, expect, it } from '@jest/globals';
import { matrixProblem, rowNormalize, rowTotals, topConfusion } from './confusion';

describe('confusion matrix helpers', () => {
  const m = [
    [8, 2, 0],
    [1, 0, 9],
    [0, 0, 0],
  ];
  it('totals and row fractions; an empty row stays zero', () => {
    expect(rowTotals(m)).toEqual([10, 10, 0]);
    expect(rowNormalize(m)).toEqual([
      [0.8, 0.2, 0],
      [0.1, 0, 0.9],
      [0, 0, 0],
    ]);
  });
  it('finds the most frequent confusion, ignoring the diagonal', () => {
    expect(topConfusion(m)).toEqual({ true: 1, pred: 2, count: 9 });
    expect(topConfusion([[5, 0], [0, 5]])).toBeNull();
  });
  it('says what is wrong with a matrix it cannot draw', () => {
    expect(matrixProblem(m, 3)).toBeNull();
    expect(matrixProblem(m, 4)).toBe('matrix has 3 rows for 4 classes');
    expect(matrixProblem([[1, 2], [3]], 2)).toBe('row 1 does not have 2 cells');
    expect(matrixProblem([[1, -2], [3, 4]], 2)).toBe('row 0 has a cell that is not a count');
    expect(matrixProblem('x', 2)).toBe('matrix is not an array');
  });
});
