import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { NOTEBOOK_AUGMENT, NOTEBOOK_NORMALIZE } from '../contracts/spec.js';
import { parseExperimentDocument } from './parse-document.js';
import { PresetError } from './preset-error.js';
import { listPresets, presetDocument } from './presets.js';
import type { ExpandedRun } from './types.js';

const NAMES = [
  'scratch',
  'pretrained',
  'scratch_224',
  'pretrained_224',
  'modified_scratch_1',
  'modified_scratch_2',
  'modified_scratch_3',
  'modified_pretrained_1',
  'modified_pretrained_2',
  'modified_pretrained_3',
];

function runs(profile: string, overrides = {}): ExpandedRun[] {
  const r = parseExperimentDocument(presetDocument('seed-study', profile, overrides));
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.runs;
}

describe('seed-study preset', () => {
  it("expands to the notebook's ten runs in its order", () => {
    const full = runs('full');
    expect(full.map((r) => r.name)).toEqual(NAMES);
    expect(new Set(full.map((r) => r.spec_hash)).size).toBe(10);
  });

  it("carries the notebook's hyperparameters, data and augmentation in every run", () => {
    for (const r of runs('full')) {
      expect(r.spec.optim).toMatchObject({ name: 'adam', lr: 1e-3, weight_decay: 0, schedule: { name: 'none' } });
      expect(r.spec.train).toMatchObject({ epochs: 10, batch_size: 64 });
      expect(r.spec.data).toMatchObject({ source: 'fashion-mnist', pad_to: 36, channels: 3, train_subset: null, test_subset: null });
      expect(r.spec.data.normalize).toEqual(NOTEBOOK_NORMALIZE);
      expect(r.spec.data.augment).toEqual(NOTEBOOK_AUGMENT);
      expect(r.spec.model.num_classes).toBe(10);
    }
  });

  it('sets each variant exactly as the notebook does', () => {
    const byName = new Map(runs('full').map((r) => [r.name, r.spec]));
    const model = (n: string) => byName.get(n)!.model;
    expect(model('scratch')).toMatchObject({ pretrained: false, conv1: null, maxpool: true });
    expect(model('pretrained')).toMatchObject({ pretrained: true, conv1: null, maxpool: true });
    expect(byName.get('scratch_224')!.data.resize).toBe(224);
    expect(byName.get('pretrained_224')!.data.resize).toBe(224);
    expect(model('pretrained_224').pretrained).toBe(true);
    expect(byName.get('scratch')!.data.resize).toBeNull();
    expect(model('modified_scratch_1')).toMatchObject({ pretrained: false, conv1: { kernel: 7, stride: 1, padding: 3 }, maxpool: true });
    expect(model('modified_scratch_2')).toMatchObject({ pretrained: false, conv1: { kernel: 5, stride: 1, padding: 2 }, maxpool: true });
    expect(model('modified_scratch_3')).toMatchObject({ pretrained: false, conv1: null, maxpool: false });
    expect(model('modified_pretrained_1')).toMatchObject({ pretrained: true, conv1: { kernel: 7, stride: 1, padding: 3 } });
    expect(model('modified_pretrained_2')).toMatchObject({ pretrained: true, conv1: { kernel: 5, stride: 1, padding: 2 } });
    expect(model('modified_pretrained_3')).toMatchObject({ pretrained: true, conv1: null, maxpool: false });
  });

  it('applies the profiles to subsets and epochs only', () => {
    const quick = runs('quick');
    const smoke = runs('smoke');
    expect(quick.every((r) => r.spec.data.train_subset === 5000 && r.spec.data.test_subset === 1000 && r.spec.train.epochs === 3)).toBe(true);
    expect(smoke.every((r) => r.spec.data.train_subset === 256 && r.spec.data.test_subset === 256 && r.spec.train.epochs === 1)).toBe(true);
    expect(smoke.map((r) => r.name)).toEqual(NAMES);
  });

  it('equals the handwritten notebook document of the golden files', () => {
    const golden = JSON.parse(
      readFileSync(new URL('../../test/golden/experiments/valid/notebook-study.expected.json', import.meta.url), 'utf8'),
    ) as { runs: { name: string; spec_hash: string }[] };
    expect(runs('quick').map((r) => [r.name, r.spec_hash])).toEqual(golden.runs.map((r) => [r.name, r.spec_hash]));
  });

  it('takes overrides into its base sections, e.g. one GPU per run', () => {
    const gpu = runs('smoke', { resources: { gpus: 1 } });
    expect(gpu.every((r) => r.spec.resources.gpus === 1)).toBe(true);
    expect(gpu.map((r) => r.spec.model.conv1)).toEqual(runs('smoke').map((r) => r.spec.model.conv1));
  });

  it('refuses unknown presets and profiles, listing the choices', () => {
    expect(() => presetDocument('nope', 'full')).toThrow(PresetError);
    expect(() => presetDocument('nope', 'full')).toThrow(/seed-study/);
    try {
      presetDocument('seed-study', 'huge');
      throw new Error('accepted');
    } catch (e) {
      expect(e).toBeInstanceOf(PresetError);
      expect((e as PresetError).message).toMatch(/full, quick, smoke/);
      expect((e as PresetError).choices).toEqual(['full', 'quick', 'smoke']);
    }
  });

  it('is listed with its profiles and run names', () => {
    const list = listPresets();
    expect(list.map((p) => p.name)).toEqual(['seed-study']);
    expect(list[0].runs).toBe(10);
    expect(list[0].run_names).toEqual(NAMES);
    expect(list[0].profiles.map((p) => p.name)).toEqual(['full', 'quick', 'smoke']);
  });

  it('returns a fresh document each time', () => {
    const a = presetDocument('seed-study', 'full');
    a.data!.augment!.pop();
    a.variants!.pop();
    expect(presetDocument('seed-study', 'full').variants).toHaveLength(10);
    expect(presetDocument('seed-study', 'full').data!.augment).toHaveLength(3);
  });
});
