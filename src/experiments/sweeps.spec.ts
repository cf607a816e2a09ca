import { describe, expect, it } from '@jest/globals';
import { defaultRunSpec } from '../contracts/spec.js';
import { specHash } from './canonical-json.js';
import { parseExperimentDocument } from './parse-document.js';
import { drawSamples, expandExperiment, resolveSpec, runCount } from './sweeps.js';
import type { ExpandedRun, ExperimentDocument } from './types.js';

function expand(doc: ExperimentDocument): ExpandedRun[] {
  const r = parseExperimentDocument(doc);
  if (!r.ok) throw new Error(JSON.stringify(r.errors, null, 2));
  return r.runs;
}

describe('sweep expansion', () => {
  it('crosses variants x grid x random in a fixed order, last grid key fastest', () => {
    const runs = expand({
      name: 'x',
      variants: [{ name: 'a' }, { name: 'b', overrides: { model: { maxpool: false } } }],
      grid: { 'optim.lr': [0.1, 0.01], 'train.batch_size': [32, 64, 128] },
      random: { n: 2, seed: 3, params: { 'train.seed': { dist: 'uniform', low: 0, high: 1000 } } },
    });
    expect(runs).toHaveLength(2 * 6 * 2);
    expect(runs.map((r) => r.index)).toEqual([...runs.keys()]);
    expect(runs.slice(0, 4).map((r) => [r.variant, r.params['optim.lr'], r.params['train.batch_size']])).toEqual([
      ['a', 0.1, 32],
      ['a', 0.1, 32],
      ['a', 0.1, 64],
      ['a', 0.1, 64],
    ]);
    expect(runs[12].variant).toBe('b');
    expect(runs[0].name).toMatch(/^a #1 lr=0\.1 bs=32 seed=\d+$/);
    expect(runs[1].name).toMatch(/^a #2 lr=0\.1 bs=32 seed=\d+$/);
    // The same samples are crossed with every variant and grid combination.
    const seeds = runs.map((r) => r.params['train.seed']);
    expect(seeds.filter((_, i) => i % 2 === 0).every((s) => s === seeds[0])).toBe(true);
    expect(seeds.filter((_, i) => i % 2 === 1).every((s) => s === seeds[1])).toBe(true);
    expect(new Set(runs.map((r) => r.name)).size).toBe(runs.length);
  });

  it('names runs "variant lr=... bs=..." and falls back to the document name', () => {
    expect(expand({ name: 'solo' }).map((r) => r.name)).toEqual(['solo']);
    const names = expand({ name: 'g', variants: [{ name: 'scratch' }], grid: { 'optim.lr': [0.0003], 'train.batch_size': [128] } }).map((r) => r.name);
    expect(names).toEqual(['scratch lr=0.0003 bs=128']);
    expect(expand({ name: 'g', grid: { 'optim.lr': [0.0003] } }).map((r) => r.name)).toEqual(['lr=0.0003']);
  });

  it('uses full paths in names when two swept paths end alike', () => {
    const runs = expand({ name: 'n', grid: { 'data.synthetic.num_classes': [10], 'model.num_classes': [10] }, data: { source: 'synthetic', pad_to: null } });
    expect(runs[0].name).toBe('data.synthetic.num_classes=10 model.num_classes=10');
  });

  it('resolves defaults <- document <- variant <- swept value', () => {
    const [run] = expand({
      name: 'p',
      optim: { lr: 0.5, weight_decay: 0.1 },
      train: { epochs: 4 },
      variants: [{ name: 'v', overrides: { optim: { lr: 0.05 }, train: { batch_size: 8 } } }],
      grid: { 'optim.lr': [0.005] },
    });
    expect(run.spec.optim).toMatchObject({ lr: 0.005, weight_decay: 0.1, name: 'adam', momentum: 0.9 });
    expect(run.spec.train).toMatchObject({ epochs: 4, batch_size: 8, seed: 0 });
  });

  it('merges objects, replaces arrays, and lets null switch a section off', () => {
    const runs = expand({
      name: 'm',
      model: { conv1: { kernel: 5, stride: 1, padding: 2 } },
      data: { augment: [{ op: 'hflip', p: 1 }] },
      variants: [{ name: 'stride', overrides: { model: { conv1: { stride: 2 } } } }, { name: 'off', overrides: { model: { conv1: null }, data: { normalize: null } } }],
    });
    expect(runs[0].spec.model.conv1).toEqual({ kernel: 5, stride: 2, padding: 2 });
    expect(runs[0].spec.data.augment).toEqual([{ op: 'hflip', p: 1 }]);
    expect(runs[1].spec.model.conv1).toBeNull();
    expect(runs[1].spec.data.normalize).toBeNull();
    expect(runs[1].spec.data.augment).toEqual([{ op: 'hflip', p: 1 }]);
  });

  it("fills a partial conv1 from torchvision's 7x7/2/3 and a synthetic source from defaults", () => {
    const [run] = expand({ name: 'c', model: { conv1: { stride: 1 } }, data: { source: 'synthetic', pad_to: null } });
    expect(run.spec.model.conv1).toEqual({ kernel: 7, stride: 1, padding: 3 });
    expect(run.spec.data.synthetic).toEqual({ train_size: 512, test_size: 128, image_size: 32, num_classes: 10 });
  });

  it('does not share objects between runs or with the document', () => {
    const doc: ExperimentDocument = { name: 's', variants: [{ name: 'a' }, { name: 'b' }] };
    const runs = expand(doc);
    runs[0].spec.data.augment.push({ op: 'hflip', p: 0 });
    runs[0].spec.data.normalize!.mean[0] = 9;
    expect(runs[1].spec.data.augment).toHaveLength(3);
    expect(runs[1].spec.data.normalize!.mean[0]).toBe(0.491);
    expect(defaultRunSpec().data.normalize!.mean[0]).toBe(0.491);
  });

  it('gives every run the hash of its resolved spec, stable across document key order', () => {
    const a = expand({ name: 'h', optim: { lr: 0.01, name: 'sgd' }, train: { batch_size: 32, epochs: 2 } });
    const b = expand({ train: { epochs: 2, batch_size: 32 }, optim: { name: 'sgd', lr: 0.01 }, name: 'h' } as ExperimentDocument);
    expect(a[0].spec_hash).toBe(b[0].spec_hash);
    expect(a[0].spec_hash).toBe(specHash(a[0].spec));
    expect(a[0].spec_hash).toMatch(/^[0-9a-f]{64}$/);
    const c = expand({ name: 'h', optim: { lr: 0.02, name: 'sgd' }, train: { batch_size: 32, epochs: 2 } });
    expect(c[0].spec_hash).not.toBe(a[0].spec_hash);
    // The name and tags are not part of the spec, so they do not change the hash.
    expect(expand({ name: 'other', tags: ['t'], optim: { lr: 0.01, name: 'sgd' }, train: { batch_size: 32, epochs: 2 } })[0].spec_hash).toBe(a[0].spec_hash);
  });

  it('counts runs before expanding', () => {
    expect(runCount({ name: 'c', variants: [{ name: 'a' }, { name: 'b' }, { name: 'c' }], grid: { 'optim.lr': [1, 2], 'train.seed': [1, 2, 3] }, random: { n: 4, params: {} } })).toEqual({
      total: 72,
      variants: 3,
      grid: 6,
      random: 4,
    });
    expect(runCount({ name: 'c' }).total).toBe(1);
  });

  it('refuses an expansion past the limit and accepts one at it', () => {
    const doc: ExperimentDocument = { name: 'l', grid: { 'train.seed': Array.from({ length: 10 }, (_, i) => i) }, limit: 9 };
    const refused = parseExperimentDocument(doc);
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.errors).toEqual([{ path: 'limit', message: expect.stringMatching(/expands to 10 runs.*limit of 9/) }]);
    expect(parseExperimentDocument({ ...doc, limit: 10 }).ok).toBe(true);
    const big = parseExperimentDocument({ name: 'd', grid: { 'train.seed': Array.from({ length: 501 }, (_, i) => i) } });
    expect(big.ok).toBe(false);
    if (!big.ok) expect(big.errors[0].message).toMatch(/limit of 500/);
  });
});

describe('random sampling', () => {
  const params = {
    'optim.lr': { dist: 'log-uniform' as const, low: 1e-5, high: 1e-1 },
    'train.batch_size': { dist: 'uniform' as const, low: 16, high: 512 },
    'optim.momentum': { dist: 'uniform' as const, low: 0.5, high: 0.99 },
    'optim.name': { dist: 'choice' as const, values: ['adam', 'sgd'] },
  };

  it('is reproducible from the seed and changes with it', () => {
    const a = drawSamples({ n: 50, seed: 9, params });
    expect(drawSamples({ n: 50, seed: 9, params })).toEqual(a);
    expect(drawSamples({ n: 50, seed: 10, params })).not.toEqual(a);
  });

  it('respects bounds, integer paths, and choices', () => {
    const rows = drawSamples({ n: 400, seed: 1, params });
    for (const r of rows) {
      const lr = r['optim.lr'] as number;
      const bs = r['train.batch_size'] as number;
      expect(lr).toBeGreaterThanOrEqual(1e-5);
      expect(lr).toBeLessThanOrEqual(1e-1);
      expect(Number.isInteger(bs)).toBe(true);
      expect(bs).toBeGreaterThanOrEqual(16);
      expect(bs).toBeLessThanOrEqual(512);
      expect(r['optim.momentum']).toBeGreaterThanOrEqual(0.5);
      expect(['adam', 'sgd']).toContain(r['optim.name']);
    }
    // log-uniform: about a quarter of the samples in each decade of 1e-5..1e-1.
    const decades = [0, 0, 0, 0];
    for (const r of rows) decades[Math.min(3, Math.floor(Math.log10((r['optim.lr'] as number) / 1e-5)))]++;
    for (const d of decades) expect(d).toBeGreaterThan(60);
    expect(new Set(rows.map((r) => r['optim.name'])).size).toBe(2);
  });

  it('yields specs that pass validation', () => {
    const runs = expand({ name: 'r', random: { n: 30, seed: 5, params } });
    expect(runs).toHaveLength(30);
    expect(runs[0].name).toMatch(/^#1 lr=\S+ bs=\d+ momentum=\S+ opt=(adam|sgd)$/);
  });
});

describe('resolveSpec', () => {
  it('returns a complete RunSpec for an empty document', () => {
    expect(resolveSpec({ name: 'e' }, undefined, {})).toEqual(defaultRunSpec());
    expect(expandExperiment({ name: 'e' })[0].spec).toEqual(defaultRunSpec());
  });
});
