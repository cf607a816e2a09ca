// Golden files: valid documents with their expected expansions, invalid ones with their expected error
// paths (test/golden/experiments/README.md).
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseExperimentDocument } from './parse-document.js';
import { specHash } from './canonical-json.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'golden', 'experiments');
const DOC = /\.(ya?ml|json)$/;
const isDocument = (f: string): boolean => DOC.test(f) && !f.endsWith('.expected.json') && !f.endsWith('.errors.json');
const stem = (f: string): string => f.replace(DOC, '');
const formatOf = (f: string): 'json' | 'yaml' => (f.endsWith('.json') ? 'json' : 'yaml');

const validFiles = readdirSync(join(ROOT, 'valid')).filter(isDocument).sort();
const invalidFiles = readdirSync(join(ROOT, 'invalid')).filter(isDocument).sort();

describe('golden experiment documents', () => {
  it('has documents to check', () => {
    expect(validFiles.length).toBeGreaterThanOrEqual(5);
    expect(invalidFiles.length).toBeGreaterThanOrEqual(10);
  });

  describe.each(validFiles)('valid/%s', (file) => {
    it('expands to the expected runs', () => {
      const result = parseExperimentDocument(readFileSync(join(ROOT, 'valid', file), 'utf8'), formatOf(file));
      if (!result.ok) throw new Error(`refused: ${JSON.stringify(result.errors, null, 2)}`);
      const actual = {
        runs: result.runs.map((r) => ({ name: r.name, variant: r.variant, params: r.params, spec_hash: r.spec_hash, spec: r.spec })),
      };
      const expectedPath = join(ROOT, 'valid', `${stem(file)}.expected.json`);
      if (process.env.UPDATE_GOLDEN === '1') writeFileSync(expectedPath, `${JSON.stringify(actual, null, 2)}\n`);
      const expected = JSON.parse(readFileSync(expectedPath, 'utf8')) as typeof actual;
      expect(actual).toEqual(expected);
      // The stored hashes must be the hashes of the stored specs, so a hand edit cannot drift.
      for (const r of expected.runs) expect(specHash(r.spec)).toBe(r.spec_hash);
      expect(new Set(actual.runs.map((r) => r.name)).size).toBe(actual.runs.length);
    });
  });

  describe.each(invalidFiles)('invalid/%s', (file) => {
    it('is refused with the expected error paths', () => {
      const result = parseExperimentDocument(readFileSync(join(ROOT, 'invalid', file), 'utf8'), formatOf(file));
      if (result.ok) throw new Error(`accepted, expanding to ${result.runs.length} runs`);
      const expected = JSON.parse(readFileSync(join(ROOT, 'invalid', `${stem(file)}.errors.json`), 'utf8')) as { path: string; contains?: string }[];
      const describe = (errors: { path: string }[]): string[] => errors.map((e) => e.path).sort();
      expect(describe(result.errors)).toEqual(describe(expected));
      const unmatched = [...result.errors];
      for (const want of expected) {
        const i = unmatched.findIndex((e) => e.path === want.path && (!want.contains || e.message.includes(want.contains)));
        if (i < 0) throw new Error(`no error at "${want.path}" containing ${JSON.stringify(want.contains)}; got ${JSON.stringify(result.errors, null, 2)}`);
        unmatched.splice(i, 1);
      }
    });
  });
});
