// Metric series held by the browser: a REST snapshot (server-downsampled) plus live points appended from
// socket.io. Pure functions so the merge and dedupe rules are unit-tested without a browser.

import type { RunMetricsView } from '@contracts/api';
import type { MetricPoint } from '@contracts/wire';

export interface Series {
  step: number[];
  epoch: number[];
  value: number[];
  wall_time: number[];
}

export type SeriesMap = Readonly<Record<string, Series>>;

const num = (v: unknown): number => (typeof v === 'number' ? v : Number.NaN);

/** Copies a snapshot, dropping malformed columns so one bad key cannot break every chart. */
export function seriesFromView(view: RunMetricsView): SeriesMap {
  const out: Record<string, Series> = {};
  for (const [key, s] of Object.entries(view.series ?? {})) {
    if (!s || !Array.isArray(s.step) || !Array.isArray(s.value)) continue;
    const n = Math.min(s.step.length, s.value.length);
    const series: Series = { step: [], epoch: [], value: [], wall_time: [] };
    for (let i = 0; i < n; i++) {
      series.step.push(num(s.step[i]));
      series.epoch.push(num(s.epoch?.[i]));
      series.value.push(num(s.value[i]));
      series.wall_time.push(num(s.wall_time?.[i]));
    }
    sortByStep(series);
    out[key] = series;
  }
  return out;
}

function isSorted(a: number[]): boolean {
  for (let i = 1; i < a.length; i++) if (a[i]! < a[i - 1]!) return false;
  return true;
}

function sortByStep(s: Series): void {
  if (isSorted(s.step)) return;
  const idx = s.step.map((_, i) => i).sort((a, b) => s.step[a]! - s.step[b]! || a - b);
  s.step = idx.map((i) => s.step[i]!);
  s.epoch = idx.map((i) => s.epoch[i]!);
  s.value = idx.map((i) => s.value[i]!);
  s.wall_time = idx.map((i) => s.wall_time[i]!);
}

/**
 * Returns a new map with the points added; untouched keys keep their arrays (cheap re-render checks).
 * A point at a step the series already has replaces the stored value, so a replayed point never doubles.
 */
export function appendPoints(map: SeriesMap, points: readonly MetricPoint[]): SeriesMap {
  if (points.length === 0) return map;
  const out: Record<string, Series> = { ...map };
  const touched = new Set<string>();
  for (const p of points) {
    if (!p || typeof p.key !== 'string' || typeof p.step !== 'number') continue;
    let s = out[p.key];
    if (!touched.has(p.key)) {
      s = s ? { step: [...s.step], epoch: [...s.epoch], value: [...s.value], wall_time: [...s.wall_time] } : { step: [], epoch: [], value: [], wall_time: [] };
      out[p.key] = s;
      touched.add(p.key);
    }
    const series = s!;
    const last = series.step.length - 1;
    if (last < 0 || p.step > series.step[last]!) {
      series.step.push(p.step);
      series.epoch.push(num(p.epoch));
      series.value.push(num(p.value));
      series.wall_time.push(num(p.wall_time));
      continue;
    }
    // Out-of-order or repeated step: binary search its place.
    let lo = 0;
    let hi = series.step.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (series.step[mid]! < p.step) lo = mid + 1;
      else hi = mid;
    }
    if (series.step[lo] === p.step) {
      series.epoch[lo] = num(p.epoch);
      series.value[lo] = num(p.value);
      series.wall_time[lo] = num(p.wall_time);
    } else {
      series.step.splice(lo, 0, p.step);
      series.epoch.splice(lo, 0, num(p.epoch));
      series.value.splice(lo, 0, num(p.value));
      series.wall_time.splice(lo, 0, num(p.wall_time));
    }
  }
  return out;
}

/**
 * Dedupe gate for one run's live events. metrics, log and evaluation share the run's seq space, so one
 * gate sees them all. `floor` is the snapshot's last_seq: everything at or below it is already shown.
 * Events of one subscription arrive in seq order, so the highest accepted seq is where a reconnect
 * resumes (`after_seq`).
 */
export class SeqGate {
  private floor: number;
  private max: number;
  private readonly seen = new Set<number>();

  constructor(floor: number) {
    this.floor = Number.isFinite(floor) && floor > 0 ? floor : 0;
    this.max = this.floor;
  }

  accept(seq: unknown): boolean {
    if (typeof seq !== 'number' || !Number.isInteger(seq) || seq <= this.floor || this.seen.has(seq)) return false;
    this.seen.add(seq);
    if (seq > this.max) this.max = seq;
    // Bound memory on long runs: everything far below the newest seq can no longer arrive.
    if (this.seen.size > 20_000) {
      const keepFrom = this.max - 10_000;
      for (const s of this.seen) if (s <= keepFrom) this.seen.delete(s);
      this.floor = Math.max(this.floor, keepFrom);
    }
    return true;
  }

  get resumeAfter(): number {
    return this.max;
  }
}

export type XKind = 'step' | 'epoch' | 'time';

export interface LineInput {
  x: readonly number[];
  y: readonly number[];
}

/**
 * uPlot wants one shared, ascending x array with one y column per line: the union of every line's x,
 * with null where a line has no value (and non-finite values as null so a NaN loss leaves a gap).
 */
export function alignLines(lines: readonly LineInput[]): [number[], ...(number | null)[][]] {
  const xs = new Set<number>();
  for (const l of lines) for (const x of l.x) if (Number.isFinite(x)) xs.add(x);
  const x = [...xs].sort((a, b) => a - b);
  const index = new Map<number, number>();
  x.forEach((v, i) => index.set(v, i));
  const cols = lines.map((l) => {
    const col: (number | null)[] = new Array<number | null>(x.length).fill(null);
    const n = Math.min(l.x.length, l.y.length);
    for (let i = 0; i < n; i++) {
      const at = index.get(l.x[i]!);
      const v = l.y[i]!;
      if (at !== undefined) col[at] = Number.isFinite(v) ? v : null;
    }
    return col;
  });
  return [x, ...cols];
}

/** The series as x/y for a chart: by global step, by epoch (last value of each epoch), or by seconds since the first point. */
export function lineFor(s: Series | undefined, kind: XKind, t0?: number): LineInput {
  if (!s) return { x: [], y: [] };
  if (kind === 'step') return { x: s.step, y: s.value };
  if (kind === 'time') {
    const base = t0 ?? firstFinite(s.wall_time);
    return { x: s.wall_time.map((t) => t - base), y: s.value };
  }
  const byEpoch = new Map<number, number>();
  for (let i = 0; i < s.epoch.length; i++) {
    const e = s.epoch[i]!;
    if (Number.isFinite(e)) byEpoch.set(e, s.value[i]!);
  }
  const x = [...byEpoch.keys()].sort((a, b) => a - b);
  return { x, y: x.map((e) => byEpoch.get(e)!) };
}

export function firstFinite(a: readonly number[]): number {
  for (const v of a) if (Number.isFinite(v)) return v;
  return 0;
}

/** Earliest wall time over several series, so lines of one chart share a time origin. */
export function earliestWallTime(series: readonly (Series | undefined)[]): number {
  let t = Number.POSITIVE_INFINITY;
  for (const s of series) if (s) for (const w of s.wall_time) if (Number.isFinite(w) && w < t) t = w;
  return Number.isFinite(t) ? t : 0;
}

export function countFinite(a: readonly (number | null)[]): number {
  let n = 0;
  for (const v of a) if (v !== null && Number.isFinite(v)) n++;
  return n;
}

export function lastValue(s: Series | undefined): number | null {
  if (!s) return null;
  for (let i = s.value.length - 1; i >= 0; i--) if (Number.isFinite(s.value[i]!)) return s.value[i]!;
  return null;
}
