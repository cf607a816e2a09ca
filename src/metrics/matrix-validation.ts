// Checks that a confusion matrix is usable before any measure is computed from it: square, counts that
// are non-negative integers, and class names (when given) that match it. Kept apart from confusion.ts
// so classification.ts can use it without an import cycle; confusion.ts re-exports it.

import { MetricsInputError, type MetricsIssue } from './errors.js';

/** Reporting stops here: a large malformed matrix should yield a readable error, not thousands of lines. */
const MAX_ISSUES = 20;

/**
 * Every problem with `matrix` (and `classNames`, when not undefined), as {path, message}; empty when
 * valid. `path` prefixes the reported paths (e.g. 'evaluations[3].matrix').
 */
export function confusionMatrixIssues(matrix: unknown, classNames?: unknown, path = 'matrix'): MetricsIssue[] {
  const issues: MetricsIssue[] = [];
  const add = (p: string, message: string): boolean => {
    issues.push({ path: p, message });
    return issues.length < MAX_ISSUES;
  };
  if (!Array.isArray(matrix)) {
    add(path, `must be an array of rows, got ${describe(matrix)}`);
    return issues;
  }
  const n = matrix.length;
  if (n === 0) {
    add(path, 'must have at least one class (got an empty array)');
    return issues;
  }
  outer: for (let i = 0; i < n; i++) {
    const row: unknown = matrix[i];
    if (!Array.isArray(row)) {
      if (!add(`${path}[${i}]`, `must be an array of counts, got ${describe(row)}`)) break;
      continue;
    }
    if (row.length !== n) {
      if (!add(`${path}[${i}]`, `has ${row.length} entries; a ${n}x${n} matrix needs ${n} (the matrix must be square)`)) break;
      continue;
    }
    for (let j = 0; j < n; j++) {
      const v: unknown = row[j];
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
        if (!add(`${path}[${i}][${j}]`, `must be a non-negative integer count, got ${describe(v)}`)) break outer;
      }
    }
  }
  if (classNames !== undefined && issues.length < MAX_ISSUES) {
    const namesPath = path === 'matrix' ? 'class_names' : `${path}.class_names`;
    if (!Array.isArray(classNames)) {
      add(namesPath, `must be an array of strings, got ${describe(classNames)}`);
    } else {
      if (classNames.length !== n) {
        add(namesPath, `has ${classNames.length} names but the matrix has ${n} classes`);
      }
      for (let k = 0; k < classNames.length && issues.length < MAX_ISSUES; k++) {
        if (typeof classNames[k] !== 'string') add(`${namesPath}[${k}]`, `must be a string, got ${describe(classNames[k])}`);
      }
    }
  }
  return issues;
}

/** Throws MetricsInputError listing every problem; narrows `matrix` to number[][] otherwise. */
export function assertConfusionMatrix(matrix: unknown, classNames?: unknown, path = 'matrix'): asserts matrix is number[][] {
  const issues = confusionMatrixIssues(matrix, classNames, path);
  if (issues.length > 0) throw new MetricsInputError(issues);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '...' : v);
  return typeof v;
}
