import { describe, expect, it } from '@jest/globals';
import { DASH, elapsedSeconds, fmtAgo, fmtCompact, fmtDuration, fmtInt, fmtMb, fmtNum, fmtPct, fmtShape, shortId } from './format';

describe('format', () => {
  it('numbers, with a dash for missing or non-finite values', () => {
    expect(fmtNum(0.123456, 4)).toBe('0.1235');
    expect(fmtNum(0)).toBe('0.000');
    expect(fmtNum(0.00001234)).toBe('1.23e-5');
    expect(fmtNum(null)).toBe(DASH);
    expect(fmtNum(Number.NaN)).toBe(DASH);
    expect(fmtPct(0.91234)).toBe('91.23%');
    expect(fmtInt(11689512)).toBe('11,689,512');
    expect(fmtCompact(11689512)).toBe('11.69M');
    expect(fmtCompact(1.8e9)).toBe('1.80G');
    expect(fmtCompact(999)).toBe('999');
  });
  it('durations', () => {
    expect(fmtDuration(3.456)).toBe('3.46s');
    expect(fmtDuration(42.1)).toBe('42.1s');
    expect(fmtDuration(125)).toBe('2m 05s');
    expect(fmtDuration(3 * 3600 + 7 * 60)).toBe('3h 07m');
    expect(fmtDuration(-1)).toBe(DASH);
  });
  it('relative times and elapsed time', () => {
    const now = Date.parse('2025-01-01T12:00:00Z');
    expect(fmtAgo('2025-01-01T11:59:30Z', now)).toBe('30s ago');
    expect(fmtAgo('2025-01-01T11:00:00Z', now)).toBe('1h ago');
    expect(fmtAgo('2024-12-01T00:00:00Z', now)).toBe('2024-12-01');
    expect(fmtAgo('not a date', now)).toBe(DASH);
    expect(elapsedSeconds('2025-01-01T11:59:00Z', null, now)).toBe(60);
    expect(elapsedSeconds('2025-01-01T11:00:00Z', '2025-01-01T11:00:30Z', now)).toBe(30);
    expect(elapsedSeconds(null, null, now)).toBeNull();
  });
  it('memory, shapes, ids', () => {
    expect(fmtMb(512)).toBe('512 MiB');
    expect(fmtMb(81920)).toBe('80.0 GiB');
    expect(fmtShape([1, 512, 2, 2])).toBe('[1, 512, 2, 2]');
    expect(fmtShape(null)).toBe(DASH);
    expect(shortId('0f8e2c1a-1111-2222-3333-444455556666')).toBe('0f8e2c1a');
    expect(shortId('short')).toBe('short');
  });
});
