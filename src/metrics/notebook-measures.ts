// The seed notebook's ClassificationMeasures, reproduced faithfully (including its mistakes) so the
// differences documented in docs/metrics.md are computed, not asserted, and so a run's figures can be
// set beside the numbers the notebook reported. Never use these for Trainyard's own measures.
//
// What the notebook does (seed/resnet18-notebook.md), per class c with TP, FP, FN:
// - classes are those occurring in y_true or y_pred (np.unique of both), not every class of the dataset;
// - its "recall" is TP / (TP + FP) (that is precision) and its "precision" is TP / (TP + FN) (recall);
// - in the macro averages a zero denominator counts as 1, so a class never predicted adds 1 to "recall"
//   and a class never present adds 1 to "precision";
// - its F1 is the harmonic mean of those two macro averages, not the mean of per-class F1;
// - micro precision and recall are both TP/N = accuracy; 0/0 gives NaN as numpy does.

import { assertConfusionMatrix } from './matrix-validation.js';

export interface NotebookMeasures {
  accuracy: number;
  micro: { precision: number; recall: number; f1: number };
  macro: { precision: number; recall: number; f1: number };
}

/** The notebook's numbers for matrix[true][pred]; labels as the notebook names them (swapped). */
export function notebookMeasuresFromConfusion(matrix: number[][]): NotebookMeasures {
  assertConfusionMatrix(matrix);
  const k = matrix.length;
  let total = 0;
  let correct = 0;
  const row = new Array<number>(k).fill(0);
  const col = new Array<number>(k).fill(0);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      row[i] += matrix[i][j];
      col[j] += matrix[i][j];
      total += matrix[i][j];
    }
    correct += matrix[i][i];
  }
  const classes = [...Array(k).keys()].filter((c) => row[c] > 0 || col[c] > 0);
  let nbRecall = 0; // TP / (TP + FP): precision under its real name
  let nbPrecision = 0; // TP / (TP + FN): recall under its real name
  let pooledTp = 0;
  let pooledFp = 0;
  let pooledFn = 0;
  for (const c of classes) {
    const tp = matrix[c][c];
    const fp = col[c] - tp;
    const fn = row[c] - tp;
    nbRecall += tp + fp !== 0 ? tp / (tp + fp) : 1;
    nbPrecision += tp + fn !== 0 ? tp / (tp + fn) : 1;
    pooledTp += tp;
    pooledFp += fp;
    pooledFn += fn;
  }
  nbRecall /= classes.length;
  nbPrecision /= classes.length;
  const microRecall = pooledTp / (pooledTp + pooledFp);
  const microPrecision = pooledTp / (pooledTp + pooledFn);
  return {
    accuracy: correct / total,
    micro: { precision: microPrecision, recall: microRecall, f1: (2 * microRecall * microPrecision) / (microRecall + microPrecision) },
    macro: { precision: nbPrecision, recall: nbRecall, f1: (2 * nbRecall * nbPrecision) / (nbRecall + nbPrecision) },
  };
}
