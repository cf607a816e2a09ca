import { describe, expect, it } from '@jest/globals';
import { validateContent } from './message.validation.js';

describe('validateContent', () => {
  it('accepts well-formed messages and ignores extra fields', () => {
    expect(validateContent('metrics', { points: [{ key: 'train_loss', step: 1, epoch: 1, value: 0.5, wall_time: 1, extra: 'x' }], later: 1 })).toBeNull();
    expect(validateContent('finished', { status: 'skipped', error: 'no weights', epochs_completed: 0 })).toBeNull();
    expect(validateContent('heartbeat', {})).toBeNull();
  });

  it.each([
    ['metrics', { points: [{ key: 'a', step: 1.5, epoch: 1, value: 1, wall_time: 1 }] }, /points \[0\] step must be an integer/],
    ['metrics', { points: [{ key: 'a', step: 1, epoch: 1, value: null, wall_time: 1 }] }, /value must be a finite number/],
    ['metrics', { points: 'many' }, /points must be an array/],
    ['evaluation', { epoch: 1, class_names: ['a', 'b'], matrix: [[1, 2]], misclassified: [], loss: 0.1, samples: 3 }, /matrix must be square/],
    ['evaluation', { epoch: 1, class_names: ['a'], matrix: [[-1]], misclassified: [], loss: 0.1, samples: 1 }, /matrix .*>= 0|counts must be >= 0/],
    ['finished', { status: 'exploded', error: null, epochs_completed: 1 }, /status must be one of/],
    ['hello', { host: 'h', worker_id: 'w', labels: [], devices: [{ index: 0, kind: 'tpu', name: 'x', memory_total_mb: 1 }], cpu_slots: 1, versions: {}, runs: [], pid: 1 }, /devices \[0\] kind/],
    ['log', { level: 'info', message: 'x'.repeat(100_001) }, /message must be a string of at most/],
  ] as const)('rejects bad %s content naming the field', (type, content, reason) => {
    expect(validateContent(type, content)).toMatch(reason);
  });
});
