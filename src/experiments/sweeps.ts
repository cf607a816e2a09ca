// Sweep checks and expansion. Expansion order is fixed: variants in document order (or one unnamed
// base), then grid combinations (cartesian product, keys in document order, the last key varying
// fastest), then random samples 1..n. The n random samples are drawn once from the seed and crossed
// with every variant and grid combination, so variants are compared on the same samples.
import { defaultRunSpec, type RunSpec } from '../contracts/spec.js';
import { canonicalJson, specHash } from './canonical-json.js';
import { deepClone, deepMerge, isPlainObject } from './deep-merge.js';
import { DEFAULT_RUN_LIMIT, MAX_SWEEP_KEYS, MAX_SWEEP_VALUES } from './document.dto.js';
import { mulberry32 } from './prng.js';
import { RUN_SPEC_SECTIONS, RunSpecOverridesDto } from './spec.dto.js';
import { isNumericPath, objectAtPath, specField, suggestPath } from './spec-paths.js';
import type { ExpandedRun, ExperimentDocument, FieldError, RandomParam, RunSpecOverrides } from './types.js';
import { validateAs } from './validation-errors.js';
import { describeValue } from './validators.js';

/** Checks one sweep value as if it were written at `specPath` of a RunSpec; errors land on `docPath`. */
export function validateValueAt(specPath: string, value: unknown, docPath: string): FieldError[] {
  return validateAs(RunSpecOverridesDto, objectAtPath(specPath, value)).map((e) => {
    if (e.path === specPath) return { path: docPath, message: e.message };
    if (e.path.startsWith(specPath) && /^[.[]/.test(e.path.slice(specPath.length))) {
      return { path: docPath + e.path.slice(specPath.length), message: e.message };
    }
    return { path: docPath, message: `${e.path}: ${e.message}` };
  });
}

function pathProblem(path: string, taken: string[]): string | null {
  if (!specField(path)) {
    const hint = suggestPath(path);
    return `unknown RunSpec path "${path}"${hint ? `; did you mean "${hint}"?` : ''}`;
  }
  const clash = taken.find((t) => t === path || t.startsWith(`${path}.`) || path.startsWith(`${t}.`));
  return clash ? `overlaps sweep path "${clash}"; a path may be swept only once` : null;
}

export function validateGrid(grid: Record<string, unknown>): FieldError[] {
  const errors: FieldError[] = [];
  const keys = Object.keys(grid);
  if (keys.length === 0) return [{ path: 'grid', message: 'must name at least one RunSpec path' }];
  if (keys.length > MAX_SWEEP_KEYS) errors.push({ path: 'grid', message: `must name at most ${MAX_SWEEP_KEYS} paths (got ${keys.length})` });
  const taken: string[] = [];
  for (const key of keys) {
    const at = `grid.${key}`;
    const problem = pathProblem(key, taken);
    if (problem) {
      errors.push({ path: at, message: problem });
      continue;
    }
    taken.push(key);
    const values = grid[key];
    if (!Array.isArray(values) || values.length === 0 || values.length > MAX_SWEEP_VALUES) {
      errors.push({ path: at, message: `must be a list of 1-${MAX_SWEEP_VALUES} values (got ${describeValue(values)})` });
      continue;
    }
    const seen = new Map<string, number>();
    values.forEach((value, i) => {
      const valueErrors = validateValueAt(key, value, `${at}[${i}]`);
      errors.push(...valueErrors);
      if (valueErrors.length) return;
      const id = canonicalJson(value);
      const first = seen.get(id);
      if (first !== undefined) errors.push({ path: `${at}[${i}]`, message: `duplicates ${at}[${first}]` });
      else seen.set(id, i);
    });
  }
  return errors;
}

export function validateRandomParams(params: Record<string, unknown>, gridKeys: string[]): FieldError[] {
  const errors: FieldError[] = [];
  const keys = Object.keys(params);
  if (keys.length === 0) return [{ path: 'random.params', message: 'must name at least one RunSpec path' }];
  if (keys.length > MAX_SWEEP_KEYS) errors.push({ path: 'random.params', message: `must name at most ${MAX_SWEEP_KEYS} paths` });
  const taken = gridKeys.filter((k) => specField(k));
  for (const key of keys) {
    const at = `random.params.${key}`;
    const problem = pathProblem(key, taken);
    if (problem) {
      errors.push({ path: at, message: problem });
      continue;
    }
    taken.push(key);
    const param = params[key];
    if (!isPlainObject(param)) {
      errors.push({ path: at, message: `must be an object with dist (got ${describeValue(param)})` });
      continue;
    }
    const dist = param.dist;
    const allowed = dist === 'choice' ? ['dist', 'values'] : ['dist', 'low', 'high'];
    for (const extra of Object.keys(param).filter((k) => !allowed.includes(k))) {
      errors.push({ path: `${at}.${extra}`, message: `unknown field (allowed: ${allowed.join(', ')})` });
    }
    if (dist === 'choice') {
      const values = param.values;
      if (!Array.isArray(values) || values.length === 0 || values.length > MAX_SWEEP_VALUES) {
        errors.push({ path: `${at}.values`, message: `must be a list of 1-${MAX_SWEEP_VALUES} values (got ${describeValue(values)})` });
        continue;
      }
      values.forEach((v, i) => errors.push(...validateValueAt(key, v, `${at}.values[${i}]`)));
    } else if (dist === 'uniform' || dist === 'log-uniform') {
      if (!isNumericPath(key)) {
        errors.push({ path: `${at}.dist`, message: `${dist} needs a numeric path; use dist "choice" for "${key}"` });
        continue;
      }
      const bounds: FieldError[] = [];
      for (const bound of ['low', 'high'] as const) {
        const v = param[bound];
        if (typeof v !== 'number' || !Number.isFinite(v)) bounds.push({ path: `${at}.${bound}`, message: `must be a number (got ${describeValue(v)})` });
        else bounds.push(...validateValueAt(key, v, `${at}.${bound}`));
      }
      errors.push(...bounds);
      if (bounds.length) continue;
      const low = param.low as number;
      const high = param.high as number;
      if (!(low < high)) errors.push({ path: `${at}.high`, message: `must be greater than low (${low})` });
      else if (dist === 'log-uniform' && low <= 0) errors.push({ path: `${at}.low`, message: 'log-uniform needs low > 0' });
    } else {
      errors.push({ path: `${at}.dist`, message: `must be one of uniform, log-uniform, choice (got ${describeValue(dist)})` });
    }
  }
  return errors;
}

export function runCount(doc: ExperimentDocument): { total: number; variants: number; grid: number; random: number } {
  const variants = doc.variants?.length || 1;
  const grid = Object.values(doc.grid ?? {}).reduce((acc, v) => acc * (Array.isArray(v) ? v.length : 1), 1);
  const random = doc.random?.n ?? 1;
  return { total: variants * grid * random, variants, grid, random };
}

export function runLimit(doc: ExperimentDocument): number {
  return doc.limit ?? DEFAULT_RUN_LIMIT;
}

/** Where a swept value came from, so errors on the resolved spec can point back into the document. */
export interface RunOrigin {
  variantIndex: number | null;
  params: { path: string; docPath: string; random: boolean }[];
}

export interface ExpansionEntry {
  run: ExpandedRun;
  origin: RunOrigin;
}

const LABEL_ALIASES: Record<string, string> = {
  'train.batch_size': 'bs',
  'optim.weight_decay': 'wd',
  'optim.lr': 'lr',
  'optim.name': 'opt',
};

function labelsFor(paths: string[]): Map<string, string> {
  const short = (p: string): string => LABEL_ALIASES[p] ?? p.slice(p.lastIndexOf('.') + 1);
  const counts = new Map<string, number>();
  for (const p of paths) counts.set(short(p), (counts.get(short(p)) ?? 0) + 1);
  return new Map(paths.map((p) => [p, (counts.get(short(p)) ?? 0) > 1 ? p : short(p)]));
}

function formatValue(value: unknown, sampled: boolean): string {
  if (typeof value === 'number') return sampled && !Number.isInteger(value) ? String(Number(value.toPrecision(4))) : String(value);
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

function sample(param: RandomParam, integer: boolean, rng: () => number): unknown {
  const u = rng();
  if (param.dist === 'choice') return deepClone(param.values[Math.min(param.values.length - 1, Math.floor(u * param.values.length))]);
  const { low, high } = param;
  const x = param.dist === 'uniform' ? low + u * (high - low) : Math.exp(Math.log(low) + u * (Math.log(high) - Math.log(low)));
  if (!integer) return Math.min(high, Math.max(low, x));
  return Math.min(Math.floor(high), Math.max(Math.ceil(low), Math.round(x)));
}

/** Draws the random sweep's samples: n rows, params in document order. Same seed, same rows. */
export function drawSamples(random: NonNullable<ExperimentDocument['random']>): Record<string, unknown>[] {
  const rng = mulberry32(random.seed ?? 0);
  const rows: Record<string, unknown>[] = [];
  for (let k = 0; k < random.n; k++) {
    const row: Record<string, unknown> = {};
    for (const [path, param] of Object.entries(random.params)) row[path] = sample(param, specField(path)?.kind === 'int', rng);
    rows.push(row);
  }
  return rows;
}

function gridCombos(grid: Record<string, unknown[]>): Record<string, unknown>[] {
  let combos: Record<string, unknown>[] = [{}];
  for (const [path, values] of Object.entries(grid)) {
    const next: Record<string, unknown>[] = [];
    for (const combo of combos) for (const v of values) next.push({ ...combo, [path]: v });
    combos = next;
  }
  return combos;
}

function pickSections(source: RunSpecOverrides | undefined): RunSpecOverrides {
  const out: Record<string, unknown> = {};
  if (!source) return out;
  for (const key of RUN_SPEC_SECTIONS) {
    const v = (source as Record<string, unknown>)[key];
    if (v !== undefined) out[key] = v;
  }
  return out;
}

// torchvision's conv1; a document may set only some of its fields.
const TORCHVISION_CONV1 = { kernel: 7, stride: 2, padding: 3 };

/** Fills the parts RunSpec leaves to the document's discretion: a partial conv1, the synthetic block. */
export function completeSpec(spec: RunSpec): RunSpec {
  if (spec.model.conv1 !== null && isPlainObject(spec.model.conv1)) spec.model.conv1 = { ...TORCHVISION_CONV1, ...spec.model.conv1 };
  if (spec.data.source === 'synthetic') {
    spec.data.synthetic = { train_size: 512, test_size: 128, image_size: 32, num_classes: spec.model.num_classes, ...spec.data.synthetic };
  }
  return spec;
}

/** Merges `value` into `target` at the dotted path, in place (same rule as deepMerge). */
function mergeAt(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let cur = target;
  for (const key of keys.slice(0, -1)) {
    if (!isPlainObject(cur[key])) cur[key] = {};
    cur = cur[key] as Record<string, unknown>;
  }
  const last = keys[keys.length - 1];
  cur[last] = deepMerge(cur[last], value);
}

function withParams(base: RunSpec, params: Record<string, unknown>): RunSpec {
  const spec = deepClone(base);
  for (const [path, value] of Object.entries(params)) mergeAt(spec as unknown as Record<string, unknown>, path, value);
  return completeSpec(spec);
}

/** Resolves one run: defaults <- document sections <- variant overrides <- swept values. */
export function resolveSpec(doc: ExperimentDocument, overrides: RunSpecOverrides | undefined, params: Record<string, unknown>): RunSpec {
  return withParams(deepMerge(deepMerge(defaultRunSpec(), pickSections(doc)), pickSections(overrides)), params);
}

/** Expands a document that passed validation. The caller checks runCount against the limit first. */
export function expandWithOrigins(doc: ExperimentDocument): ExpansionEntry[] {
  const variants: ({ name: string; overrides?: RunSpecOverrides } | null)[] = doc.variants?.length ? doc.variants : [null];
  const grid = (doc.grid ?? {}) as Record<string, unknown[]>;
  const combos = gridCombos(grid);
  const samples = doc.random ? drawSamples(doc.random) : [null];
  const gridKeys = Object.keys(grid);
  const randomKeys = Object.keys(doc.random?.params ?? {});
  const labels = labelsFor([...gridKeys, ...randomKeys]);
  const entries: ExpansionEntry[] = [];
  const base = deepMerge(defaultRunSpec(), pickSections(doc));
  variants.forEach((variant, vi) => {
    const variantBase = deepMerge(base, pickSections(variant?.overrides));
    for (const combo of combos) {
      samples.forEach((row, k) => {
        const params: Record<string, unknown> = { ...combo, ...(row ?? {}) };
        const tokens: string[] = [];
        if (variant) tokens.push(variant.name);
        if (row) tokens.push(`#${k + 1}`);
        for (const key of gridKeys) tokens.push(`${labels.get(key)}=${formatValue(combo[key], false)}`);
        for (const key of randomKeys) tokens.push(`${labels.get(key)}=${formatValue(row?.[key], true)}`);
        const spec = withParams(variantBase, params);
        entries.push({
          run: {
            index: entries.length,
            name: tokens.length ? tokens.join(' ') : doc.name,
            variant: variant?.name ?? null,
            params: deepClone(params),
            spec,
            spec_hash: specHash(spec),
          },
          origin: {
            variantIndex: variant ? vi : null,
            params: [
              ...gridKeys.map((key) => ({ path: key, docPath: `grid.${key}[${grid[key].indexOf(combo[key])}]`, random: false })),
              ...randomKeys.map((key) => ({ path: key, docPath: `random.params.${key}`, random: true })),
            ],
          },
        });
      });
    }
  });
  return entries;
}

export function expandExperiment(doc: ExperimentDocument): ExpandedRun[] {
  return expandWithOrigins(doc).map((e) => e.run);
}
