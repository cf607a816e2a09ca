// Server-side downsampling of metric series for charts: a chart a few hundred pixels wide gains nothing
// from 100,000 points, but it must still show the spike where the loss diverged. Both methods keep the
// first and last point, bucket by position in O(n), and return indexes into the input, so every
// column of a series (step, epoch, value, wall_time) is picked together.
//
// LTTB: Sveinn Steinarsson, "Downsampling Time Series for Visual Representation" (2013), ch. 4.
// Min/max: per bucket, the lowest and the highest value, in step order (an envelope of the series).
//
// Non-finite values (NaN from a diverged loss, +-Infinity): never chosen while a bucket has a finite
// point, since a NaN triangle area would win or lose arbitrarily; a bucket with no finite point keeps
// its first point so the gap stays visible in the chart. Non-finite x values make the whole series
// use positions as x (steps are stored integers; this only guards against corrupt rows).

import type { SeriesView } from '../contracts/api.js';
import { MetricsInputError } from './errors.js';

export type DownsampleMethod = 'lttb' | 'minmax';
export const DOWNSAMPLE_METHODS: readonly DownsampleMethod[] = ['lttb', 'minmax'];

/**
 * Indexes of at most `n` points chosen by largest-triangle-three-buckets. n >= length: every index;
 * n = 2: first and last; n = 1: the last (the current value is what a one-point summary should show).
 */
export function lttbIndices(x: ArrayLike<number>, y: ArrayLike<number>, n: number): number[] {
  const len = checkArgs(x, y, n);
  const trivial = trivialIndices(len, n);
  if (trivial) return trivial;

  const xs = allFinite(x) ? x : null; // null: use positions
  const xAt = (i: number): number => (xs ? xs[i] : i);
  const out: number[] = [0];
  const every = (len - 2) / (n - 2);
  // Anchor = the last chosen point with a finite value; NaN anchors would make every area NaN.
  let anchor = Number.isFinite(y[0]) ? 0 : -1;

  for (let b = 0; b < n - 2; b++) {
    const start = Math.floor(b * every) + 1;
    const end = Math.floor((b + 1) * every) + 1;
    // Third vertex: the mean of the next bucket (the last point for the last bucket).
    const nextStart = end;
    const nextEnd = Math.min(Math.floor((b + 2) * every) + 1, len);
    let sx = 0;
    let sy = 0;
    let finiteCount = 0;
    let sxAll = 0;
    for (let j = nextStart; j < nextEnd; j++) {
      sxAll += xAt(j);
      if (Number.isFinite(y[j])) {
        sx += xAt(j);
        sy += y[j];
        finiteCount++;
      }
    }
    const count = nextEnd - nextStart;
    const cx = finiteCount > 0 ? sx / finiteCount : sxAll / count;
    let cy: number;
    if (finiteCount > 0) cy = sy / finiteCount;
    else cy = anchor >= 0 ? y[anchor] : 0;
    const ax = anchor >= 0 ? xAt(anchor) : xAt(0);
    const ay = anchor >= 0 ? y[anchor] : cy;

    let chosen = -1;
    let maxArea = -1;
    for (let j = start; j < end; j++) {
      const yj = y[j];
      if (!Number.isFinite(yj)) continue;
      // Twice the triangle's area; the factor does not change which point wins.
      const area = Math.abs((ax - cx) * (yj - ay) - (ax - xAt(j)) * (cy - ay));
      if (area > maxArea) {
        maxArea = area;
        chosen = j;
      }
    }
    if (chosen < 0) {
      out.push(start);
    } else {
      out.push(chosen);
      anchor = chosen;
    }
  }
  out.push(len - 1);
  return out;
}

/**
 * Indexes of at most `n` points: first, last, and the minimum and maximum of each of floor((n-2)/2)
 * equal buckets of the points between, in order. n = 3 leaves no room for a bucket: first and last.
 */
export function minMaxIndices(y: ArrayLike<number>, n: number): number[] {
  const len = checkArgs(y, y, n);
  const trivial = trivialIndices(len, n);
  if (trivial) return trivial;

  const buckets = Math.floor((n - 2) / 2);
  const inner = len - 2;
  const out: number[] = [0];
  for (let b = 0; b < buckets; b++) {
    const start = 1 + Math.floor((b * inner) / buckets);
    const end = 1 + Math.floor(((b + 1) * inner) / buckets);
    if (end <= start) continue;
    let lo = -1;
    let hi = -1;
    for (let j = start; j < end; j++) {
      const v = y[j];
      if (!Number.isFinite(v)) continue;
      if (lo < 0 || v < y[lo]) lo = j;
      if (hi < 0 || v > y[hi]) hi = j;
    }
    if (lo < 0) out.push(start);
    else if (lo === hi) out.push(lo);
    else out.push(Math.min(lo, hi), Math.max(lo, hi));
  }
  out.push(len - 1);
  return out;
}

/** The series reduced to at most `n` points by `method`; x for LTTB is the step. */
export function downsampleSeries(series: SeriesView, n: number, method: DownsampleMethod = 'lttb'): SeriesView {
  const len = seriesLength(series);
  if (!DOWNSAMPLE_METHODS.includes(method)) {
    throw new MetricsInputError([{ path: 'method', message: `must be one of ${DOWNSAMPLE_METHODS.join(', ')}; got ${String(method)}` }]);
  }
  checkN(n);
  if (n >= len) return selectIndices(series, null);
  const idx = method === 'lttb' ? lttbIndices(series.step, series.value, n) : minMaxIndices(series.value, n);
  return selectIndices(series, idx);
}

/** Every series of a run downsampled the same way. */
export function downsampleAll(series: Record<string, SeriesView>, n: number, method: DownsampleMethod = 'lttb'): Record<string, SeriesView> {
  const out: Record<string, SeriesView> = {};
  for (const [key, s] of Object.entries(series)) {
    try {
      out[key] = downsampleSeries(s, n, method);
    } catch (e) {
      if (e instanceof MetricsInputError) {
        throw new MetricsInputError(e.issues.map((i) => ({ path: i.path.replace(/^series/, `series.${key}`), message: i.message })));
      }
      throw e;
    }
  }
  return out;
}

/** A new series holding the points at `indices` (null = a copy of all). */
export function selectIndices(series: SeriesView, indices: readonly number[] | null): SeriesView {
  if (indices === null) {
    return { step: [...series.step], epoch: [...series.epoch], value: [...series.value], wall_time: [...series.wall_time] };
  }
  return {
    step: indices.map((i) => series.step[i]),
    epoch: indices.map((i) => series.epoch[i]),
    value: indices.map((i) => series.value[i]),
    wall_time: indices.map((i) => series.wall_time[i]),
  };
}

function seriesLength(series: SeriesView): number {
  if (series === null || typeof series !== 'object') {
    throw new MetricsInputError([{ path: 'series', message: 'must be an object with step, epoch, value and wall_time arrays' }]);
  }
  const cols = ['step', 'epoch', 'value', 'wall_time'] as const;
  for (const c of cols) {
    if (!Array.isArray(series[c])) throw new MetricsInputError([{ path: `series.${c}`, message: 'must be an array' }]);
  }
  const len = series.step.length;
  const bad = cols.filter((c) => series[c].length !== len);
  if (bad.length > 0) {
    throw new MetricsInputError(bad.map((c) => ({ path: `series.${c}`, message: `has ${series[c].length} entries but step has ${len}` })));
  }
  return len;
}

function checkN(n: number): void {
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new MetricsInputError([{ path: 'points', message: `must be a positive integer, got ${String(n)}` }]);
  }
}

function checkArgs(x: ArrayLike<number>, y: ArrayLike<number>, n: number): number {
  checkN(n);
  if (x.length !== y.length) {
    throw new MetricsInputError([{ path: 'series', message: `x has ${x.length} entries but y has ${y.length}` }]);
  }
  return y.length;
}

function trivialIndices(len: number, n: number): number[] | null {
  if (n >= len) return Array.from({ length: len }, (_, i) => i);
  if (n === 1) return [len - 1];
  if (n === 2) return [0, len - 1];
  return null;
}

function allFinite(x: ArrayLike<number>): boolean {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) return false;
  return true;
}
