import { describe, expect, it } from '@jest/globals';
import { ago, clipText, duration, fields, megabytes, num, pct, table } from './format.js';

describe('CLI output formats', () => {
  it('aligns tables: left text, right numbers, - for empty cells, clipped long cells', () => {
    const rows = [
      { name: 'scratch', acc: '91.20%', reason: '' },
      { name: 'modified_pretrained_3', acc: '9.00%', reason: 'a very long reason that goes on' },
    ];
    expect(
      table(rows, [
        { header: 'name', value: (r) => r.name },
        { header: 'test acc', value: (r) => r.acc, right: true },
        { header: 'reason', value: (r) => r.reason, max: 12 },
      ]),
    ).toBe(
      [
        'name                   test acc  reason',
        '---------------------  --------  ------------',
        'scratch                  91.20%  -',
        'modified_pretrained_3     9.00%  a very long…',
      ].join('\n'),
    );
  });

  it('formats numbers, percentages, durations, sizes and ages', () => {
    expect(num(0.123456, 4)).toBe('0.1235');
    expect(num(null, 2)).toBe('');
    expect(num(Number.NaN, 2)).toBe('');
    expect(pct(0.9123)).toBe('91.23%');
    expect(pct(undefined)).toBe('');
    expect(duration(42.12)).toBe('42.1s');
    expect(duration(185)).toBe('3m05s');
    expect(duration(3725)).toBe('1h02m');
    expect(duration(-1)).toBe('');
    expect(megabytes(81_920)).toBe('80 GB');
    expect(megabytes(24_000)).toBe('23.4 GB');
    expect(megabytes(512)).toBe('512 MB');
    const now = Date.parse('2026-01-01T12:00:00Z');
    expect(ago('2026-01-01T11:59:30Z', now)).toBe('30s ago');
    expect(ago('2026-01-01T09:00:00Z', now)).toBe('3h ago');
    expect(ago(null, now)).toBe('');
    expect(clipText('a\nb   c', 10)).toBe('a b c');
  });

  it('aligns key: value lines', () => {
    expect(fields([['run', 'x'], ['experiment', null]])).toBe('run:        x\nexperiment: -');
  });
});
