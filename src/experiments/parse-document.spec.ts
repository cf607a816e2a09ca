import { describe, expect, it } from '@jest/globals';
import { MAX_DOCUMENT_BYTES } from './document.dto.js';
import { parseExperimentDocument } from './parse-document.js';
import type { FieldError } from './types.js';

function errorsOf(input: unknown, format?: 'json' | 'yaml'): FieldError[] {
  const r = parseExperimentDocument(input, format);
  if (r.ok) throw new Error(`accepted: ${r.runs.length} runs`);
  return r.errors;
}

const paths = (errors: FieldError[]): string[] => errors.map((e) => e.path).sort();

describe('parseExperimentDocument', () => {
  const yamlDoc = `
name: same
optim: {lr: 3.0e-4}
variants:
  - name: a
  - name: b
    overrides: {model: {maxpool: false}}
grid:
  train.batch_size: [64, 128]
`;
  const jsonDoc = JSON.stringify({
    name: 'same',
    optim: { lr: 3e-4 },
    variants: [{ name: 'a' }, { name: 'b', overrides: { model: { maxpool: false } } }],
    grid: { 'train.batch_size': [64, 128] },
  });

  it('reads JSON text, YAML text and objects to the same runs', () => {
    const fromYaml = parseExperimentDocument(yamlDoc, 'yaml');
    const fromJson = parseExperimentDocument(jsonDoc, 'json');
    const guessed = parseExperimentDocument(jsonDoc);
    const fromObject = parseExperimentDocument(JSON.parse(jsonDoc));
    for (const r of [fromYaml, fromJson, guessed, fromObject]) expect(r.ok).toBe(true);
    const hashes = (r: typeof fromYaml) => (r.ok ? r.runs.map((x) => x.spec_hash) : []);
    expect(hashes(fromYaml)).toHaveLength(4);
    expect(hashes(fromJson)).toEqual(hashes(fromYaml));
    expect(hashes(guessed)).toEqual(hashes(fromYaml));
    expect(hashes(fromObject)).toEqual(hashes(fromYaml));
  });

  it('reports every error at once across base, variants and sweeps', () => {
    const errors = errorsOf({
      name: 'many',
      model: { conv1: { kernel: 0 } },
      data: { resize: 5000 },
      variants: [{ name: 'v', overrides: { train: { epochs: -1 } } }],
      grid: { 'optim.lr': [0.1, 11] },
      random: { n: 2, params: { 'train.batch_size': { dist: 'uniform', low: 0, high: 8 } } },
      bogus: true,
    });
    expect(paths(errors)).toEqual(
      ['bogus', 'data.resize', 'grid.optim.lr[1]', 'model.conv1.kernel', 'random.params.train.batch_size.low', 'variants[0].overrides.train.epochs'].sort(),
    );
    for (const e of errors) expect(e.message.length).toBeGreaterThan(5);
  });

  it('accepts null where RunSpec allows it and refuses it elsewhere', () => {
    const ok = parseExperimentDocument({ name: 'n', model: { conv1: null }, data: { path: null, resize: null, pad_to: 36, train_subset: null, normalize: null } });
    expect(ok.ok).toBe(true);
    expect(paths(errorsOf({ name: 'n', optim: { lr: null }, train: { epochs: null }, data: { channels: null } }))).toEqual([
      'data.channels',
      'optim.lr',
      'train.epochs',
    ]);
  });

  it('refuses strings that look like numbers (no implicit conversion)', () => {
    expect(errorsOf({ name: 'n', train: { epochs: '3' } })).toEqual([{ path: 'train.epochs', message: 'must be an integer in [1, 10000] (got "3")' }]);
  });

  it('points resolved-spec errors at the document value that caused them', () => {
    const base = errorsOf({ name: 'b', data: { source: 'cifar10' } });
    expect(base).toEqual([{ path: 'data.source', message: 'data.path is required for data.source cifar10' }]);
    const variant = errorsOf({ name: 'v', variants: [{ name: 'ok' }, { name: 'bad', overrides: { model: { num_classes: 3 } } }] });
    expect(variant).toEqual([{ path: 'variants[1].overrides.model.num_classes', message: expect.stringMatching(/fewer than the 10 classes.*\(run "bad"\)/) }]);
    const grid = errorsOf({ name: 'g', grid: { 'model.num_classes': [10, 4] } });
    expect(grid.map((e) => e.path)).toEqual(['grid.model.num_classes[1]']);
    const random = errorsOf({ name: 'r', data: { pad_to: null }, random: { n: 3, params: { 'data.resize': { dist: 'choice', values: [8, 8, 8] } } }, model: { conv1: { kernel: 11, padding: 0 } } });
    expect(random.map((e) => e.path)).toEqual(['random.params.data.resize']);
    expect(random[0].message).toMatch(/conv1/);
  });

  it('does not modify its input and returns its own copy', () => {
    const input = { name: 'c', model: { conv1: { stride: 1 } }, grid: { 'optim.lr': [0.1] } };
    const snapshot = JSON.stringify(input);
    const r = parseExperimentDocument(input);
    expect(JSON.stringify(input)).toBe(snapshot);
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.document).toEqual(input);
      expect(r.document).not.toBe(input);
      expect(r.runs[0].spec.model.conv1).toEqual({ kernel: 7, stride: 1, padding: 3 });
    }
  });

  describe('at the edge', () => {
    it('refuses oversized documents, as text and as objects', () => {
      const big = JSON.stringify({ name: 'big', description: 'x'.repeat(MAX_DOCUMENT_BYTES) });
      expect(errorsOf(big)[0]).toEqual({ path: '', message: expect.stringMatching(/limit is 262144/) });
      expect(errorsOf(JSON.parse(big) as unknown)[0].message).toMatch(/bytes serialized; the limit is/);
    });

    it('refuses deep nesting, prototype keys, cycles and non-JSON values', () => {
      let deep: Record<string, unknown> = {};
      const root = { name: 'deep', model: deep };
      for (let i = 0; i < 30; i++) deep = (deep.x = {}) as Record<string, unknown>;
      expect(errorsOf(root)[0].message).toMatch(/nested deeper than 16/);
      expect(errorsOf('{"name":"p","model":{"__proto__":{"polluted":true}}}')).toEqual([{ path: 'model.__proto__', message: 'forbidden key' }]);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      const cyclic: Record<string, unknown> = { name: 'c' };
      cyclic.self = cyclic;
      expect(errorsOf(cyclic)[0].message).toMatch(/nested deeper/);
      expect(errorsOf({ name: 'f', optim: { lr: Number.NaN } })).toEqual([{ path: 'optim.lr', message: 'must be a finite number (got NaN)' }]);
      expect(errorsOf({ name: 'd', when: new Date(0) })[0]).toEqual({ path: 'when', message: 'must be a JSON value (got object)' });
      expect(errorsOf({ name: 'b', train: { seed: BigInt(1) } })[0].path).toBe('train.seed');
    });

    it('reports JSON and YAML syntax errors and YAML-only values', () => {
      expect(errorsOf('{"name": ', 'json')[0].message).toMatch(/^invalid JSON/);
      expect(errorsOf('name: [unclosed', 'yaml')).toEqual([{ path: '', message: expect.stringMatching(/^invalid YAML/) }]);
      expect(errorsOf('name: a\nname: b\n')[0].message).toMatch(/unique/);
      expect(errorsOf('name: x\noptim: {lr: .inf}\n')).toEqual([{ path: 'optim.lr', message: 'must be a finite number (got Infinity)' }]);
    });

    it('bounds YAML alias expansion', () => {
      const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
      for (let i = 1; i < 12; i++) lines.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(', ')}]`);
      lines.push('name: bomb');
      const errors = errorsOf(lines.join('\n'));
      expect(errors[0].path).toBe('');
      expect(errors[0].message).toMatch(/invalid YAML|alias|limit|bytes/i);
    });

    it('refuses documents that are not objects', () => {
      for (const input of ['', '42', '[]', 'just text', null, 7, [1]]) {
        expect(errorsOf(input)).toEqual([{ path: '', message: expect.stringMatching(/must be an object|invalid/) }]);
      }
    });
  });

  it('expands a 500-run sweep and validates every run', () => {
    const r = parseExperimentDocument({
      name: 'wide',
      variants: Array.from({ length: 5 }, (_, i) => ({ name: `v${i}`, overrides: { train: { seed: i } } })),
      grid: { 'optim.lr': Array.from({ length: 10 }, (_, i) => (i + 1) / 1000), 'train.batch_size': [16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192] },
    });
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.runs).toHaveLength(500);
      expect(new Set(r.runs.map((x) => x.spec_hash)).size).toBe(500);
    }
  });
});
