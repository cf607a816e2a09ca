import { describe, expect, it } from '@jest/globals';
import { defaultRunSpec } from '../contracts/spec.js';
import { canonicalJson, specHash } from './canonical-json.js';

describe('canonicalJson / specHash', () => {
  it('sorts keys at every depth and keeps array order', () => {
    expect(canonicalJson({ b: 'x', a: [1, { d: 2, c: 3 }] })).toBe('{"a":[1,{"c":3,"d":2}],"b":"x"}');
  });

  it('hashes to the sha256 of the canonical text (vector computed with Python hashlib)', () => {
    expect(specHash({ b: 'x', a: [1, { d: 2, c: 3 }] })).toBe('493dfafcb63f097aaa7446279e89485dc52ced3f12f991a4bca47e39b572b076');
  });

  it('is independent of key order and changes with any value', () => {
    const spec = defaultRunSpec();
    const shuffled = { max_restarts: spec.max_restarts, priority: spec.priority, resources: spec.resources, train: spec.train, optim: spec.optim, data: spec.data, model: spec.model };
    expect(specHash(shuffled)).toBe(specHash(spec));
    const changed = defaultRunSpec();
    changed.optim.lr = 3e-4;
    expect(specHash(changed)).not.toBe(specHash(spec));
    const arrayOrder = defaultRunSpec();
    arrayOrder.data.augment.reverse();
    expect(specHash(arrayOrder)).not.toBe(specHash(spec));
  });

  it('refuses non-finite numbers instead of hashing them as null', () => {
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(/non-finite/);
  });
});
