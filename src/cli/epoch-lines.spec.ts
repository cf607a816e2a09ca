import { describe, expect, it } from '@jest/globals';
import type { MetricPoint } from '../contracts/wire.js';
import { EpochLines } from './epoch-lines.js';

const p = (key: string, epoch: number, step: number, value: number): MetricPoint => ({ key, epoch, step, value, wall_time: 0 });
const evaluation = (epoch: number, f1: number) => ({ epoch, measures: { macro: { precision: 0, recall: 0, f1 } } }) as never;

const endOfEpoch = (n: number, loss: number) => [p('train_loss', n, n * 10, loss), p('train_acc', n, n * 10, 0.5), p('test_acc', n, n * 10, 0.25), p('epoch_seconds', n, n * 10, 75)];

describe('watch epoch lines', () => {
  it("prints an epoch once its epoch_seconds point and evaluation are in, with the epoch's last values", () => {
    const lines = new EpochLines({ epochs: 3, evalEvery: 1 });
    expect(lines.addPoints([p('train_loss', 1, 3, 2.5), p('train_loss', 1, 5, 2.0)])).toEqual([]);
    expect(lines.addEvaluation(evaluation(1, 0.125))).toEqual([]);
    expect(lines.addPoints(endOfEpoch(1, 1.5))).toEqual(['epoch 1/3  train_loss 1.5000  train_acc 50.00%  test_acc 25.00%  macro_f1 0.1250  time 1m15s']);
    // Nothing is printed twice.
    expect(lines.addPoints([p('epoch_seconds', 1, 10, 75)])).toEqual([]);
  });

  it('holds a completed epoch for an evaluation that arrives after its points', () => {
    const lines = new EpochLines({ epochs: 2, evalEvery: 1 });
    expect(lines.addPoints(endOfEpoch(1, 1))).toEqual([]);
    expect(lines.holding()).toBe(true);
    expect(lines.addEvaluation(evaluation(1, 0.5))).toEqual(['epoch 1/2  train_loss 1.0000  train_acc 50.00%  test_acc 25.00%  macro_f1 0.5000  time 1m15s']);
    expect(lines.holding()).toBe(false);
  });

  it('does not wait for evaluations of epochs that eval_every skips, and later data settles earlier epochs', () => {
    const lines = new EpochLines({ epochs: 4, evalEvery: 2 });
    expect(lines.addPoints(endOfEpoch(1, 1))).toEqual(['epoch 1/4  train_loss 1.0000  train_acc 50.00%  test_acc 25.00%  time 1m15s']);
    expect(lines.addPoints(endOfEpoch(2, 0.9))).toEqual([]);
    // Epoch 3 data arrives: epoch 2's evaluation is not coming any more.
    expect(lines.addPoints([p('train_loss', 3, 21, 0.8)])).toEqual(['epoch 2/4  train_loss 0.9000  train_acc 50.00%  test_acc 25.00%  time 1m15s']);
  });

  it('keeps epoch order, ignores older steps replayed late, and flushes what is held', () => {
    const lines = new EpochLines();
    expect(lines.addPoints([...endOfEpoch(1, 1), ...endOfEpoch(2, 0.5)])).toEqual([
      'epoch 1  train_loss 1.0000  train_acc 50.00%  test_acc 25.00%  time 1m15s',
    ]);
    expect(lines.addPoints([p('train_loss', 2, 15, 9)])).toEqual([]);
    expect(lines.flush()).toEqual(['epoch 2  train_loss 0.5000  train_acc 50.00%  test_acc 25.00%  time 1m15s']);
    expect(lines.flush()).toEqual([]);
    // Malformed points are skipped, not fatal.
    expect(lines.addPoints([{ key: 'epoch_seconds', epoch: Number.NaN, step: 1, value: 1, wall_time: 0 }, null as never])).toEqual([]);
  });
});
