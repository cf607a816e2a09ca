import { describe, expect, it } from '@jest/globals';
import type { SeriesView } from '../contracts/api.js';
import { downsampleAll, downsampleSeries, lttbIndices, minMaxIndices, selectIndices } from './downsample.js';
import { MetricsInputError } from './errors.js';

function series(values: number[], steps?: number[]): SeriesView {
  const step = steps ?? values.map((_, i) => i * 10);
  return {
    step,
    epoch: step.map((s) => Math.floor(s / 100)),
    value: values,
    wall_time: step.map((s) => 1_700_000_000 + s / 4),
  };
}

function strictlyIncreasing(xs: number[]): boolean {
  return xs.every((v, i) => i === 0 || v > xs[i - 1]);
}

// Uneven steps and a few turns; the expected indexes come from a direct Python port of Steinarsson's
// reference implementation (not from this code).
const XS = [0, 1, 2, 3, 5, 8, 9, 10, 12, 13, 14, 15];
const YS = [1.0, 3.0, 2.0, 2.5, 7.0, 1.0, 0.5, 4.0, 4.2, 3.9, -2.0, 0.0];

describe('lttbIndices', () => {
  it('matches the reference implementation on a small uneven series', () => {
    expect(lttbIndices(XS, YS, 5)).toEqual([0, 1, 4, 10, 11]);
    expect(lttbIndices(XS, YS, 7)).toEqual([0, 1, 4, 6, 8, 10, 11]);
  });

  it('preserves a single spike (up or down) in a long flat noisy series', () => {
    const ys = Array.from({ length: 5000 }, (_, i) => 1 + 0.01 * Math.sin(i));
    ys[3117] = 50;
    ys[911] = -40;
    const idx = lttbIndices(ys.map((_, i) => i), ys, 40);
    expect(idx).toContain(3117);
    expect(idx).toContain(911);
    expect(idx).toHaveLength(40);
  });

  it('on a monotone series returns n strictly increasing indexes with first and last, values monotone', () => {
    const ys = Array.from({ length: 1000 }, (_, i) => Math.sqrt(i));
    const idx = lttbIndices(ys.map((_, i) => i), ys, 50);
    expect(idx).toHaveLength(50);
    expect(idx[0]).toBe(0);
    expect(idx[49]).toBe(999);
    expect(strictlyIncreasing(idx)).toBe(true);
    expect(strictlyIncreasing(idx.map((i) => ys[i]))).toBe(true);
  });

  it('returns every index when n >= length, and handles n < 3', () => {
    expect(lttbIndices([0, 1, 2], [5, 6, 7], 3)).toEqual([0, 1, 2]);
    expect(lttbIndices([0, 1, 2], [5, 6, 7], 10)).toEqual([0, 1, 2]);
    expect(lttbIndices(XS, YS, 2)).toEqual([0, 11]);
    expect(lttbIndices(XS, YS, 1)).toEqual([11]);
    expect(lttbIndices([], [], 5)).toEqual([]);
    expect(lttbIndices([4], [1], 1)).toEqual([0]);
  });

  it('rejects n that is not a positive integer and x/y of different lengths', () => {
    for (const n of [0, -1, 2.5, NaN, Infinity]) expect(() => lttbIndices(XS, YS, n)).toThrow(MetricsInputError);
    expect(() => lttbIndices([1, 2], [1], 5)).toThrow(/x has 2 entries but y has 1/);
  });

  it('never picks a NaN while its bucket has a finite value, and keeps a visible gap for an all-NaN bucket', () => {
    const ys = Array.from({ length: 100 }, (_, i) => Math.cos(i / 7));
    for (let i = 40; i < 60; i++) ys[i] = NaN; // a whole stretch lost (diverged)
    ys[5] = NaN;
    ys[77] = Infinity;
    const xs = ys.map((_, i) => i);
    const idx = lttbIndices(xs, ys, 12); // buckets of ~9.8 points: at least one lies inside 40..59
    expect(idx).toHaveLength(12);
    expect(strictlyIncreasing(idx)).toBe(true);
    const nonFinite = idx.filter((i) => !Number.isFinite(ys[i]));
    expect(nonFinite.length).toBeGreaterThan(0);
    expect(nonFinite.every((i) => i >= 40 && i < 60)).toBe(true);
  });

  it('copes with a NaN first point and non-finite x (positions are used instead)', () => {
    const ys = [NaN, 1, 9, 2, 3, 2, 1];
    const idx = lttbIndices([0, 1, 2, 3, 4, 5, 6], ys, 3);
    expect(idx).toEqual([0, 2, 6]);
    expect(lttbIndices([0, NaN, 2, 3, 5, 8, 9, 10, 12, 13, 14, 15], YS, 5)).toEqual(lttbIndices(YS.map((_, i) => i), YS, 5));
  });
});

describe('minMaxIndices', () => {
  it('keeps first, last and each bucket’s min and max in order', () => {
    // n = 6: two buckets over indexes 1..10: [1, 6) and [6, 11).
    expect(minMaxIndices(YS, 6)).toEqual([0, 4, 5, 8, 10, 11]);
  });

  it('preserves spikes in both directions', () => {
    const ys = Array.from({ length: 10_000 }, () => 0.5);
    ys[4321] = 9;
    ys[4322] = -9;
    const idx = minMaxIndices(ys, 20);
    expect(idx).toContain(4321);
    expect(idx).toContain(4322);
    expect(idx.length).toBeLessThanOrEqual(20);
    expect(strictlyIncreasing(idx)).toBe(true);
  });

  it('emits one point for a flat bucket and a NaN only for an all-NaN bucket', () => {
    const ys = [0, 1, 1, 1, NaN, NaN, NaN, 2, NaN, 3, 4];
    // n = 8: three buckets over indexes 1..9: [1,4) [4,7) [7,10)
    expect(minMaxIndices(ys, 8)).toEqual([0, 1, 4, 7, 9, 10]);
  });

  it('handles n < 4 and n >= length', () => {
    expect(minMaxIndices(YS, 3)).toEqual([0, 11]);
    expect(minMaxIndices(YS, 2)).toEqual([0, 11]);
    expect(minMaxIndices(YS, 1)).toEqual([11]);
    expect(minMaxIndices(YS, 12)).toEqual(YS.map((_, i) => i));
  });
});

describe('downsampleSeries', () => {
  it('returns an equal copy when n >= length', () => {
    const s = series([1, 2, 3]);
    const d = downsampleSeries(s, 3);
    expect(d).toEqual(s);
    expect(d.value).not.toBe(s.value);
  });

  it('picks step, epoch, value and wall_time of the same points', () => {
    const s = series(YS, XS);
    const d = downsampleSeries(s, 5);
    expect(d.step).toEqual([0, 1, 5, 14, 15]);
    expect(d.value).toEqual([1.0, 3.0, 7.0, -2.0, 0.0]);
    expect(d.epoch).toEqual(d.step.map((x) => Math.floor(x / 100)));
    expect(d.wall_time).toEqual(d.step.map((x) => 1_700_000_000 + x / 4));
    expect(downsampleSeries(s, 6, 'minmax').value).toEqual([1.0, 7.0, 1.0, 4.2, -2.0, 0.0]);
  });

  it('reduces a long series to exactly n points with LTTB', () => {
    const values = Array.from({ length: 100_000 }, (_, i) => Math.exp(-i / 20_000) + 0.05 * Math.sin(i / 3));
    const d = downsampleSeries(series(values), 500);
    expect(d.step).toHaveLength(500);
    expect(d.step[0]).toBe(0);
    expect(d.step[499]).toBe(999_990);
  });

  it('rejects misaligned columns, a bad method and a bad n with field paths', () => {
    const s = series([1, 2, 3, 4]);
    const issue = (fn: () => unknown): string => {
      try {
        fn();
      } catch (e) {
        return (e as MetricsInputError).issues[0].path;
      }
      return 'no error';
    };
    expect(issue(() => downsampleSeries({ ...s, epoch: [0] }, 2))).toBe('series.epoch');
    expect(issue(() => downsampleSeries({ ...s, value: undefined as unknown as number[] }, 2))).toBe('series.value');
    expect(issue(() => downsampleSeries(s, 2, 'avg' as 'lttb'))).toBe('method');
    expect(issue(() => downsampleSeries(s, 0))).toBe('points');
    expect(issue(() => downsampleAll({ train_loss: s, test_acc: { ...s, step: [1] } }, 2))).toBe('series.test_acc.epoch');
  });

  it('downsampleAll treats each key separately', () => {
    const all = downsampleAll({ a: series(YS, XS), b: series([1, 2]) }, 5);
    expect(all.a.step).toHaveLength(5);
    expect(all.b.value).toEqual([1, 2]);
    expect(selectIndices(series([4, 5, 6]), [2]).value).toEqual([6]);
  });
});
