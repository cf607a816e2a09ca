import { describe, expect, it } from '@jest/globals';
import { bestRow, columnLabel, compareNotes, flatten, isNeutral, looksLikeFraction, lowerIsBetter, numericColumns, rowId, rowLabel } from './compare';

describe('compare table', () => {
  const rows = [
    flatten({ id: 'a', name: 'scratch', final: { test_acc: 0.9, macro_f1: 0.88 }, seconds_per_epoch: 12, status: 'succeeded', tags: [1] }),
    flatten({ id: 'b', name: 'pretrained', final: { test_acc: 0.93, macro_f1: null }, seconds_per_epoch: 30, images_per_s: 100 }),
  ];

  it('flattens nested objects to dotted columns (two levels deep)', () => {
    expect(rows[0]).toEqual({ id: 'a', name: 'scratch', 'final.test_acc': 0.9, 'final.macro_f1': 0.88, seconds_per_epoch: 12, status: 'succeeded', tags: [1] });
    expect(flatten({ a: { b: { c: { d: 1 } } } })).toEqual({ 'a.b.c': { d: 1 } });
    expect(flatten(null)).toEqual({});
  });

  it('lists every column holding a number in some row, not identity fields', () => {
    expect(numericColumns(rows)).toEqual(['final.test_acc', 'final.macro_f1', 'seconds_per_epoch', 'images_per_s']);
  });

  it('keeps the server order even when the first row has a null there', () => {
    expect(numericColumns([{ a: null, b: 1 }, { a: 2, b: 3 }])).toEqual(['a', 'b']);
  });

  it('marks the best row per column in the right direction', () => {
    expect(bestRow(rows, 'final.test_acc')).toBe(1);
    expect(bestRow(rows, 'seconds_per_epoch')).toBe(0);
    // Only one row has a value: nothing to compare.
    expect(bestRow(rows, 'final.macro_f1')).toBe(-1);
    expect(bestRow([{ x_s: 1 }, { x_s: 1 }], 'x_s')).toBe(-1);
  });

  it('knows which columns are better when lower', () => {
    expect(lowerIsBetter('final.train_loss')).toBe(true);
    expect(lowerIsBetter('seconds_per_epoch')).toBe(true);
    expect(lowerIsBetter('gpu_hours')).toBe(true);
    expect(lowerIsBetter('images_per_s')).toBe(false);
    expect(lowerIsBetter('best.test_acc')).toBe(false);
    expect(looksLikeFraction('final.macro_f1')).toBe(true);
    expect(looksLikeFraction('gpu_hours')).toBe(false);
  });

  it('labels rows by name, then id', () => {
    expect(rowLabel(rows[0]!)).toBe('scratch');
    expect(rowLabel({ run_id: 'r9' })).toBe('r9');
    expect(rowId({ run_id: 'r9' })).toBe('r9');
    expect(rowId({})).toBeNull();
  });
});

describe('server compare rows', () => {
  const rows = [
    flatten({ id: 'a', name: 'A', best: { test_acc: { value: 0.9, epoch: 3 } }, rank: { test_acc: 2 }, epochs_evaluated: 5 }),
    flatten({ id: 'b', name: 'B', best: { test_acc: { value: 0.95, epoch: 7 } }, rank: { test_acc: 1 }, epochs_evaluated: 9 }),
  ];
  it('labels nested columns readably', () => {
    expect(columnLabel('best.test_acc.value')).toBe('best test acc');
    expect(columnLabel('best.test_acc.epoch')).toBe('best test acc @epoch');
    expect(columnLabel('final.epoch')).toBe('final epoch');
    expect(columnLabel('seconds_per_epoch')).toBe('seconds per epoch');
  });
  it('rank 1 is best; epochs are not scored', () => {
    expect(bestRow(rows, 'rank.test_acc')).toBe(1);
    expect(bestRow(rows, 'best.test_acc.value')).toBe(1);
    expect(isNeutral('best.test_acc.epoch')).toBe(true);
    expect(bestRow(rows, 'best.test_acc.epoch')).toBe(-1);
    expect(bestRow(rows, 'epochs_evaluated')).toBe(-1);
  });
  it('writes the findings as sentences and skips malformed ones', () => {
    const notes = compareNotes(
      {
        rank_disagreements: [{ higher_accuracy: 'a', higher_macro_f1: 'b', test_acc: [0.91, 0.9], macro_f1: [0.8, 0.85] }, { higher_accuracy: 'a' }],
        dominates: [{ winner: 'b', loser: 'a', seconds_per_epoch: [10, 20], test_acc: [0.95, 0.9] }, null],
      },
      (id) => id.toUpperCase(),
    );
    expect(notes).toEqual([
      { kind: 'disagree', text: 'A has the higher test accuracy (91.00% vs 90.00%) but B the higher macro F1 (0.8500 vs 0.8000).' },
      { kind: 'dominates', text: 'B is both cheaper and better than A: 10.0 vs 20.0 s/epoch, 95.00% vs 90.00% test accuracy.' },
    ]);
    expect(compareNotes({ runs: [] }, (x) => x)).toEqual([]);
  });
});
