// Confusion-matrix arithmetic for the heatmap (matrix[true][pred] counts).

export function rowTotals(matrix: readonly (readonly number[])[]): number[] {
  return matrix.map((row) => row.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0));
}

/** Each row as a fraction of its true-class total (recall view); an empty row stays all zeros. */
export function rowNormalize(matrix: readonly (readonly number[])[]): number[][] {
  const totals = rowTotals(matrix);
  return matrix.map((row, i) => row.map((v) => (totals[i]! > 0 && Number.isFinite(v) ? v / totals[i]! : 0)));
}

/** A matrix the heatmap can draw: square, as wide as the class list, finite non-negative counts. */
export function matrixProblem(matrix: unknown, classes: number): string | null {
  if (!Array.isArray(matrix)) return 'matrix is not an array';
  if (matrix.length !== classes) return `matrix has ${matrix.length} rows for ${classes} classes`;
  for (let i = 0; i < matrix.length; i++) {
    const row: unknown = matrix[i];
    if (!Array.isArray(row) || row.length !== classes) return `row ${i} does not have ${classes} cells`;
    if (row.some((v) => typeof v !== 'number' || !Number.isFinite(v) || v < 0)) return `row ${i} has a cell that is not a count`;
  }
  return null;
}

/** The largest off-diagonal cell: the most frequent confusion (true, pred, count), or null if none. */
export function topConfusion(matrix: readonly (readonly number[])[]): { true: number; pred: number; count: number } | null {
  let best: { true: number; pred: number; count: number } | null = null;
  matrix.forEach((row, t) =>
    row.forEach((v, p) => {
      if (t !== p && v > 0 && (!best || v > best.count)) best = { true: t, pred: p, count: v };
    }),
  );
  return best;
}
