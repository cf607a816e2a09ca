#!/usr/bin/python3
"""Writes test/fixtures/metrics/classification.json: reference values computed by scikit-learn.

The TypeScript measures in src/metrics/classification.ts are checked against this file to 1e-12, so
the reference must come from an implementation that is independent of ours: Debian's python3-sklearn.
Run with /usr/bin/python3 (the interpreter that has sklearn):

    /usr/bin/python3 scripts/gen-metrics-fixtures.py

Each case stores the labels, the confusion matrix and two sets of expected measures:
- `expected`: sklearn's defaults, where averages run over the labels that occur in y_true or y_pred;
- `expected_all_labels`: labels=range(num_classes), so classes absent from both count (as zeros).
The file also holds the notebook's own ClassificationMeasures (copied verbatim below) on a worked
example, so the numbers quoted in docs/metrics.md are reproducible.
"""
from __future__ import annotations

import json
import os
import sys
import warnings
from typing import Any

import numpy as np
import sklearn
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    precision_recall_fscore_support,
)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'metrics', 'classification.json')


def measures(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int, labels: list[int] | None) -> dict[str, Any]:
    all_labels = list(range(num_classes))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=all_labels, average=None, zero_division=0)
    out: dict[str, Any] = {
        'accuracy': float(accuracy_score(y_true, y_pred)),
        'balanced_accuracy': float(balanced_accuracy_score(y_true, y_pred)),
        'per_class': [
            {'class_index': k, 'precision': float(p[k]), 'recall': float(r[k]), 'f1': float(f[k]), 'support': int(s[k])}
            for k in range(num_classes)
        ],
    }
    for average in ('micro', 'macro', 'weighted'):
        ap, ar, af, _ = precision_recall_fscore_support(y_true, y_pred, labels=labels, average=average, zero_division=0)
        out[average] = {'precision': float(ap), 'recall': float(ar), 'f1': float(af)}
    return out


def case(name: str, y_true: list[int] | np.ndarray, y_pred: list[int] | np.ndarray, num_classes: int, note: str) -> dict[str, Any]:
    yt = np.asarray(y_true, dtype=np.int64)
    yp = np.asarray(y_pred, dtype=np.int64)
    assert yt.shape == yp.shape and yt.size > 0, name
    matrix = confusion_matrix(yt, yp, labels=list(range(num_classes)))
    return {
        'name': name,
        'note': note,
        'num_classes': num_classes,
        'y_true': yt.tolist(),
        'y_pred': yp.tolist(),
        'matrix': matrix.tolist(),
        'expected': measures(yt, yp, num_classes, None),
        'expected_all_labels': measures(yt, yp, num_classes, list(range(num_classes))),
    }


# ---- the notebook's class, verbatim apart from the docstrings (seed/resnet18-notebook.md) ----------
class ClassificationMeasures:
    def __init__(self, y_true, y_pred):
        self.y_true = y_true
        self.y_pred = y_pred
        self.classes = np.unique(np.concatenate((y_true, y_pred)))
        self.num_classes = self.classes.shape[0]
        self.confusion_matrices = None

    def accuracy_score(self):
        return np.mean(self.y_true == self.y_pred)

    def _compute_confusion_matrices(self):
        confusion_matrices = np.empty((self.num_classes, 2, 2))
        for idx, clx in enumerate(self.classes):
            confusion_matrices[idx, 0, 0] = np.sum((self.y_true == clx) & (self.y_pred == clx))
            confusion_matrices[idx, 0, 1] = np.sum((self.y_true != clx) & (self.y_pred == clx))
            confusion_matrices[idx, 1, 0] = np.sum((self.y_true == clx) & (self.y_pred != clx))
            confusion_matrices[idx, 1, 1] = np.sum((self.y_true != clx) & (self.y_pred != clx))
        return confusion_matrices

    def f1_score(self, average):
        assert average in ['micro', 'macro'], f'Unrecognized argument for average {average}'
        recall = self.recall_score(average)
        precision = self.precision_score(average)
        f1 = 2 * recall * precision / (recall + precision)
        return f1

    def recall_score(self, average):
        assert average in ['micro', 'macro'], f'Unrecognized argument for average {average}'
        if self.confusion_matrices is None:
            self.confusion_matrices = self._compute_confusion_matrices()
        if average == 'micro':
            pooled_confusion_matrix = np.sum(self.confusion_matrices, axis=0)
            recall = pooled_confusion_matrix[0, 0] / \
                (pooled_confusion_matrix[0, 0] + pooled_confusion_matrix[0, 1])
        elif average == 'macro':
            recall = 0
            for idx in range(self.num_classes):
                denom = self.confusion_matrices[idx, 0, 0] + self.confusion_matrices[idx, 0, 1]
                if denom != 0:
                    recall += (self.confusion_matrices[idx, 0, 0] / denom)
                else:
                    recall += 1
            recall /= self.num_classes
        return recall

    def precision_score(self, average):
        assert average in ['micro', 'macro'], f'Unrecognized argument for average {average}'
        if self.confusion_matrices is None:
            self.confusion_matrices = self._compute_confusion_matrices()
        if average == 'micro':
            pooled_confusion_matrix = np.sum(self.confusion_matrices, axis=0)
            precision = pooled_confusion_matrix[0, 0] / \
                (pooled_confusion_matrix[0, 0] + pooled_confusion_matrix[1, 0])
        elif average == 'macro':
            precision = 0
            for idx in range(self.num_classes):
                denom = self.confusion_matrices[idx, 0, 0] + self.confusion_matrices[idx, 1, 0]
                if denom != 0:
                    precision += (self.confusion_matrices[idx, 0, 0] / denom)
                else:
                    precision += 1
            precision /= self.num_classes
        return precision


def notebook_case(name: str, y_true: list[int], y_pred: list[int], num_classes: int) -> dict[str, Any]:
    base = case(name, y_true, y_pred, num_classes, 'worked example for docs/metrics.md')
    cm = ClassificationMeasures(np.asarray(y_true), np.asarray(y_pred))
    base['notebook'] = {
        'accuracy': float(cm.accuracy_score()),
        'micro': {'precision': float(cm.precision_score('micro')), 'recall': float(cm.recall_score('micro')),
                  'f1': float(cm.f1_score('micro'))},
        'macro': {'precision': float(cm.precision_score('macro')), 'recall': float(cm.recall_score('macro')),
                  'f1': float(cm.f1_score('macro'))},
    }
    return base


def from_matrix(matrix: list[list[int]]) -> tuple[list[int], list[int]]:
    """Expands counts into label lists, so a case can be written as the matrix one means."""
    yt: list[int] = []
    yp: list[int] = []
    for t, row in enumerate(matrix):
        for p, n in enumerate(row):
            yt += [t] * n
            yp += [p] * n
    return yt, yp


def main() -> int:
    warnings.simplefilter('ignore')  # zero_division=0 is explicit; the ill-defined warnings are expected
    rng = np.random.default_rng(20240501)
    cases: list[dict[str, Any]] = []

    yt, yp = from_matrix([[5, 0, 0], [0, 7, 0], [0, 0, 3]])
    cases.append(case('perfect', yt, yp, 3, 'every prediction right'))

    yt, yp = from_matrix([[0, 4, 1], [3, 0, 2], [2, 2, 0]])
    cases.append(case('all_wrong', yt, yp, 3, 'empty diagonal: every per-class measure is 0'))

    cases.append(case('single_class', [0] * 6, [0] * 6, 1, 'one class, all right'))

    yt, yp = from_matrix([[4, 0, 0], [0, 0, 0], [0, 0, 2]])
    cases.append(case('absent_class', yt, yp, 3, 'class 1 neither present nor predicted: averages differ by label set'))

    yt, yp = from_matrix([[6, 1, 0], [2, 5, 0], [3, 1, 0]])
    cases.append(case('never_predicted', yt, yp, 3, 'class 2 is present but never predicted: precision 0/0 -> 0'))

    yt, yp = from_matrix([[6, 1, 1], [2, 5, 2], [0, 0, 0]])
    cases.append(case('never_present', yt, yp, 3, 'class 2 is predicted but never present: recall 0/0 -> 0'))

    yt, yp = from_matrix([[90, 3, 2], [4, 3, 1], [1, 0, 1]])
    cases.append(case('imbalanced', yt, yp, 3, 'one dominant class: accuracy high, macro F1 low'))

    yt, yp = from_matrix([[3, 2], [1, 4]])
    cases.append(case('binary', yt, yp, 2, 'two classes'))

    yt10 = rng.integers(0, 10, size=500)
    # 60 % right, the rest uniform: a plausible early-epoch classifier
    right = rng.random(500) < 0.6
    yp10 = np.where(right, yt10, rng.integers(0, 10, size=500))
    cases.append(case('random_10_class', yt10, yp10, 10, 'seeded random 10-class case, 500 samples'))

    yt10b = rng.integers(0, 10, size=64)
    yp10b = rng.integers(0, 10, size=64)
    cases.append(case('random_10_class_small', yt10b, yp10b, 10, 'seeded random, 64 samples, near chance'))

    # Worked example for the docs: three classes, class 2 never predicted.
    yt, yp = from_matrix([[8, 2, 0], [1, 9, 0], [3, 2, 0]])
    worked = notebook_case('notebook_worked_example', yt, yp, 3)

    doc = {
        'generator': 'scripts/gen-metrics-fixtures.py',
        'sklearn': sklearn.__version__,
        'numpy': np.__version__,
        'python': sys.version.split()[0],
        'zero_division': 0,
        'cases': cases,
        'notebook_worked_example': worked,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w', encoding='utf-8') as fh:
        json.dump(doc, fh, indent=1)
        fh.write('\n')
    print(f'wrote {len(cases)} cases to {os.path.normpath(OUT)} (sklearn {sklearn.__version__})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
