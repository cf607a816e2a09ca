import { describe, expect, it } from '@jest/globals';
import type { MetricPoint } from '@contracts/wire';
import { alignLines, appendPoints, countFinite, earliestWallTime, lastValue, lineFor, SeqGate, seriesFromView, type SeriesMap } from './series';

const pt = (key: string, step: number, value: number, epoch = 0, wall_time = 1000 + step): MetricPoint => ({ key, step, epoch, value, wall_time });

describe('seriesFromView', () => {
  it('copies columns, sorts by step and skips malformed keys', () => {
    const m = seriesFromView({
      run_id: 'r',
      last_seq: 5,
      series: {
        train_loss: { step: [3, 1, 2], epoch: [0, 0, 0], value: [0.3, 0.1, 0.2], wall_time: [13, 11, 12] },
        broken: { step: 'x', epoch: [], value: [], wall_time: [] } as never,
      },
    });
    expect(Object.keys(m)).toEqual(['train_loss']);
    expect(m.train_loss).toEqual({ step: [1, 2, 3], epoch: [0, 0, 0], value: [0.1, 0.2, 0.3], wall_time: [11, 12, 13] });
  });
});

describe('appendPoints', () => {
  it('appends in order and leaves untouched keys as the same arrays', () => {
    const a: SeriesMap = { test_acc: { step: [10], epoch: [1], value: [0.5], wall_time: [1] } };
    const b = appendPoints(a, [pt('train_loss', 1, 2.3), pt('train_loss', 2, 2.1)]);
    expect(b.train_loss!.value).toEqual([2.3, 2.1]);
    expect(b.test_acc).toBe(a.test_acc);
    expect(a.train_loss).toBeUndefined();
  });

  it('does not mutate the previous map', () => {
    const a = appendPoints({}, [pt('k', 1, 1)]);
    const before = [...a.k!.step];
    appendPoints(a, [pt('k', 2, 2)]);
    expect(a.k!.step).toEqual(before);
  });

  it('inserts out-of-order steps in place and replaces a repeated step instead of doubling it', () => {
    let m = appendPoints({}, [pt('k', 1, 1), pt('k', 5, 5)]);
    m = appendPoints(m, [pt('k', 3, 3), pt('k', 5, 50), pt('k', 0, 0)]);
    expect(m.k!.step).toEqual([0, 1, 3, 5]);
    expect(m.k!.value).toEqual([0, 1, 3, 50]);
  });

  it('ignores malformed points', () => {
    const m = appendPoints({}, [null as never, { key: 3, step: 1 } as never, pt('ok', 1, 1)]);
    expect(Object.keys(m)).toEqual(['ok']);
  });
});

describe('SeqGate', () => {
  it('drops everything at or below the snapshot and every repeat', () => {
    const g = new SeqGate(10);
    expect(g.accept(10)).toBe(false);
    expect(g.accept(3)).toBe(false);
    expect(g.accept(11)).toBe(true);
    expect(g.accept(11)).toBe(false);
    expect(g.accept(13)).toBe(true);
    expect(g.accept(12)).toBe(true);
    expect(g.resumeAfter).toBe(13);
  });

  it('rejects non-integer seqs', () => {
    const g = new SeqGate(0);
    for (const s of [undefined, null, '5', 1.5, Number.NaN]) expect(g.accept(s)).toBe(false);
    expect(g.resumeAfter).toBe(0);
  });

  it('treats a bad snapshot seq as zero', () => {
    expect(new SeqGate(Number.NaN).resumeAfter).toBe(0);
    expect(new SeqGate(-4).accept(1)).toBe(true);
  });

  it('a replay after a reconnect applies only what was missed', () => {
    // Snapshot at seq 4; live 5..7 arrive; connection drops; 8..9 happen meanwhile; the server
    // replays everything after resumeAfter (and a sloppy server might replay a bit more).
    const g = new SeqGate(4);
    let series: SeriesMap = {};
    const deliver = (seq: number) => {
      if (g.accept(seq)) series = appendPoints(series, [pt('train_loss', seq, seq)]);
    };
    [5, 6, 7].forEach(deliver);
    expect(g.resumeAfter).toBe(7);
    [6, 7, 8, 9].forEach(deliver);
    expect(series.train_loss!.step).toEqual([5, 6, 7, 8, 9]);
  });

  it('keeps memory bounded on long runs and still rejects recent repeats', () => {
    const g = new SeqGate(0);
    for (let s = 1; s <= 50_000; s++) g.accept(s);
    expect(g.accept(49_999)).toBe(false);
    expect(g.accept(50_001)).toBe(true);
    expect((g as unknown as { seen: Set<number> }).seen.size).toBeLessThanOrEqual(20_001);
  });
});

describe('alignLines', () => {
  it('unions x values and fills gaps with null', () => {
    const [x, a, b] = alignLines([
      { x: [1, 2, 4], y: [10, 20, 40] },
      { x: [2, 3], y: [200, 300] },
    ]);
    expect(x).toEqual([1, 2, 3, 4]);
    expect(a).toEqual([10, 20, null, 40]);
    expect(b).toEqual([null, 200, 300, null]);
  });

  it('turns NaN values into gaps and drops non-finite x', () => {
    const [x, a] = alignLines([{ x: [1, Number.NaN, 3], y: [Number.NaN, 5, 7] }]);
    expect(x).toEqual([1, 3]);
    expect(a).toEqual([null, 7]);
    expect(countFinite(a!)).toBe(1);
  });

  it('handles no lines and empty lines', () => {
    expect(alignLines([])).toEqual([[]]);
    expect(alignLines([{ x: [], y: [] }])).toEqual([[], []]);
  });
});

describe('lineFor', () => {
  const s = { step: [1, 2, 3, 4], epoch: [1, 1, 2, 2], value: [4, 3, 2, 1], wall_time: [100, 101, 105, 110] };
  it('by step', () => expect(lineFor(s, 'step')).toEqual({ x: [1, 2, 3, 4], y: [4, 3, 2, 1] }));
  it('by epoch keeps the last value of each epoch', () => expect(lineFor(s, 'epoch')).toEqual({ x: [1, 2], y: [3, 1] }));
  it('by time is relative to the first point or a given origin', () => {
    expect(lineFor(s, 'time').x).toEqual([0, 1, 5, 10]);
    expect(lineFor(s, 'time', 90).x).toEqual([10, 11, 15, 20]);
  });
  it('empty when the key is missing', () => expect(lineFor(undefined, 'step')).toEqual({ x: [], y: [] }));
});

describe('helpers', () => {
  it('lastValue skips trailing NaN', () => {
    expect(lastValue({ step: [1, 2], epoch: [0, 0], value: [0.5, Number.NaN], wall_time: [0, 0] })).toBe(0.5);
    expect(lastValue(undefined)).toBeNull();
  });
  it('earliestWallTime over several series', () => {
    expect(earliestWallTime([undefined, { step: [1], epoch: [0], value: [1], wall_time: [50] }, { step: [1], epoch: [0], value: [1], wall_time: [20] }])).toBe(20);
    expect(earliestWallTime([])).toBe(0);
  });
});
