// The edge for experiment documents (REST body, uploaded file, CLI): parse JSON or YAML, bound its size
// and shape, validate every field, expand the sweeps and validate every resolved run. Returns all
// errors at once, each with the dotted document path it concerns. Never throws on bad input.
import YAML from 'yaml';
import { deepClone, isPlainObject } from './deep-merge.js';
import { ExperimentDocumentDto, MAX_DOCUMENT_BYTES, MAX_DOCUMENT_DEPTH, MAX_RUN_LIMIT } from './document.dto.js';
import { hasPath } from './spec-paths.js';
import { checkResolvedSpec } from './spec-rules.js';
import { expandWithOrigins, runCount, runLimit, validateGrid, validateRandomParams, type RunOrigin } from './sweeps.js';
import type { ExperimentDocument, FieldError, ParseResult } from './types.js';
import { joinPath, validateAs } from './validation-errors.js';

export type DocumentFormat = 'json' | 'yaml';

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_NODES = 100_000;
const MAX_LISTED_RUNS = 3;

function fail(errors: FieldError[]): ParseResult {
  return { ok: false, errors };
}

function parseText(text: string, format: DocumentFormat | undefined): { value?: unknown; errors: FieldError[] } {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_DOCUMENT_BYTES) return { errors: [{ path: '', message: `document is ${bytes} bytes; the limit is ${MAX_DOCUMENT_BYTES}` }] };
  const kind = format ?? (/^\s*[{[]/.test(text) ? 'json' : 'yaml');
  if (kind === 'json') {
    try {
      return { value: JSON.parse(text), errors: [] };
    } catch (e) {
      return { errors: [{ path: '', message: `invalid JSON: ${(e as Error).message}` }] };
    }
  }
  try {
    const doc = YAML.parseDocument(text, { uniqueKeys: true, prettyErrors: true, strict: true });
    // Later syntax errors are mostly echoes of the first; the first is the one to fix.
    if (doc.errors.length) return { errors: [{ path: '', message: `invalid YAML: ${doc.errors[0].message.split('\n')[0].replace(/:$/, '')}` }] };
    // maxAliasCount bounds alias expansion ("billion laughs").
    return { value: doc.toJS({ maxAliasCount: 100 }), errors: [] };
  } catch (e) {
    return { errors: [{ path: '', message: `invalid YAML: ${(e as Error).message.split('\n')[0]}` }] };
  }
}

/** Shape limits before any validation: depth, node count, JSON-only values, no prototype keys. */
function scanShape(root: unknown): FieldError[] {
  const errors: FieldError[] = [];
  let nodes = 0;
  const visit = (value: unknown, path: string, depth: number): void => {
    if (errors.length >= 20) return;
    if (++nodes > MAX_NODES) {
      if (nodes === MAX_NODES + 1) errors.push({ path: '', message: `document has more than ${MAX_NODES} values` });
      return;
    }
    if (depth > MAX_DOCUMENT_DEPTH) {
      errors.push({ path, message: `nested deeper than ${MAX_DOCUMENT_DEPTH} levels` });
      return;
    }
    if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) errors.push({ path, message: `must be a finite number (got ${value})` });
      return;
    }
    if (Array.isArray(value)) {
      value.forEach((v, i) => visit(v, joinPath(path, i), depth + 1));
      return;
    }
    if (isPlainObject(value)) {
      for (const key of Object.keys(value)) {
        if (FORBIDDEN_KEYS.has(key)) errors.push({ path: joinPath(path, key), message: 'forbidden key' });
        else visit(value[key], joinPath(path, key), depth + 1);
      }
      return;
    }
    errors.push({ path, message: `must be a JSON value (got ${typeof value})` });
  };
  visit(root, '', 0);
  return errors;
}

function serializedBytes(value: unknown): number | string {
  try {
    return Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
  } catch (e) {
    return `document is not serializable: ${(e as Error).message}`;
  }
}

type Rank = { rank: number; docPath: string };

/** Where the value at `specPath` of one run was set: a swept value (3), variant (2), base (1), default (0). */
function sourceOf(specPath: string, origin: RunOrigin, doc: ExperimentDocument): Rank {
  for (const p of [...origin.params].reverse()) {
    if (specPath === p.path || specPath.startsWith(`${p.path}.`)) {
      return { rank: 3, docPath: p.random ? p.docPath : p.docPath + specPath.slice(p.path.length) };
    }
    if (p.path.startsWith(`${specPath}.`)) return { rank: 3, docPath: p.docPath };
  }
  if (origin.variantIndex !== null) {
    const overrides = doc.variants?.[origin.variantIndex]?.overrides;
    if (overrides && setsPath(overrides, specPath)) return { rank: 2, docPath: `variants[${origin.variantIndex}].overrides.${specPath}` };
  }
  if (setsPath(doc, specPath)) return { rank: 1, docPath: specPath };
  return { rank: 0, docPath: specPath };
}

/** The path is present, or an ancestor was set to a non-object (null switches a section off). */
function setsPath(obj: unknown, path: string): boolean {
  if (hasPath(obj, path)) return true;
  const keys = path.split('.');
  for (let i = 1; i < keys.length; i++) {
    const prefix = keys.slice(0, i).join('.');
    if (hasPath(obj, prefix)) {
      let cur: unknown = obj;
      for (const k of keys.slice(0, i)) cur = (cur as Record<string, unknown>)[k];
      if (!isPlainObject(cur)) return true;
    }
  }
  return false;
}

function blame(paths: string[], origin: RunOrigin, doc: ExperimentDocument): string {
  let best: Rank | null = null;
  for (const p of paths) {
    const r = sourceOf(p, origin, doc);
    if (!best || r.rank > best.rank) best = r;
  }
  return best?.docPath ?? '';
}

export function parseExperimentDocument(input: unknown, format?: DocumentFormat): ParseResult {
  let value: unknown = input;
  if (typeof input === 'string') {
    const parsed = parseText(input, format);
    if (parsed.errors.length) return fail(parsed.errors);
    value = parsed.value;
  }
  const shapeErrors = scanShape(value);
  if (shapeErrors.length) return fail(shapeErrors);
  const bytes = serializedBytes(value);
  if (typeof bytes === 'string') return fail([{ path: '', message: bytes }]);
  if (bytes > MAX_DOCUMENT_BYTES) return fail([{ path: '', message: `document is ${bytes} bytes serialized; the limit is ${MAX_DOCUMENT_BYTES}` }]);
  if (!isPlainObject(value)) return fail([{ path: '', message: 'document must be an object with at least a name' }]);

  const errors = validateAs(ExperimentDocumentDto, value);
  const raw = value as Record<string, unknown>;
  const gridKeys = isPlainObject(raw.grid) ? Object.keys(raw.grid) : [];
  if (isPlainObject(raw.grid)) errors.push(...validateGrid(raw.grid));
  if (isPlainObject(raw.random) && isPlainObject(raw.random.params)) errors.push(...validateRandomParams(raw.random.params, gridKeys));
  if (Array.isArray(raw.variants)) {
    const seen = new Map<string, number>();
    raw.variants.forEach((v, i) => {
      const name = isPlainObject(v) ? v.name : undefined;
      if (typeof name !== 'string') return;
      const first = seen.get(name);
      if (first !== undefined) errors.push({ path: `variants[${i}].name`, message: `duplicates variants[${first}].name "${name}"` });
      else seen.set(name, i);
    });
  }
  if (errors.length) return fail(errors);

  const doc = deepClone(value) as unknown as ExperimentDocument;
  const count = runCount(doc);
  const limit = runLimit(doc);
  if (count.total > limit) {
    return fail([
      {
        path: 'limit',
        message:
          `the document expands to ${count.total} runs (${count.variants} variants x ${count.grid} grid combinations x ` +
          `${count.random} random samples), more than the limit of ${limit}` +
          (limit < MAX_RUN_LIMIT ? `; raise limit (at most ${MAX_RUN_LIMIT}) or shrink the sweep` : '; shrink the sweep'),
      },
    ]);
  }

  const entries = expandWithOrigins(doc);
  // The same problem in many runs is one error listing the runs, not one error per run.
  const grouped = new Map<string, { path: string; message: string; runs: string[] }>();
  for (const { run, origin } of entries) {
    for (const issue of checkResolvedSpec(run.spec)) {
      const path = blame(issue.paths, origin, doc);
      const key = `${path}\u0000${issue.message}`;
      const group = grouped.get(key) ?? { path, message: issue.message, runs: [] };
      if (group.runs[group.runs.length - 1] !== run.name) group.runs.push(run.name);
      grouped.set(key, group);
    }
  }
  if (grouped.size) {
    return fail(
      [...grouped.values()].map((g) => {
        if (g.runs.length === entries.length) return { path: g.path, message: g.message };
        const listed = g.runs.slice(0, MAX_LISTED_RUNS).map((n) => `"${n}"`).join(', ');
        const more = g.runs.length > MAX_LISTED_RUNS ? ` and ${g.runs.length - MAX_LISTED_RUNS} more` : '';
        return { path: g.path, message: `${g.message} (run ${listed}${more})` };
      }),
    );
  }
  return { ok: true, document: doc, runs: entries.map((e) => e.run) };
}
