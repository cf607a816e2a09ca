// Creating experiments: validate and expand the document (pure, in parse-document.ts), store the
// experiment with all its runs queued in one transaction, then let the scheduler place them.
// Cloning ("run it again with lr 3e-4") builds a document from a stored one (or from one run's
// resolved spec), applies the changes, and goes through exactly the same path as a new document.
import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { ExperimentView, RunView } from '../contracts/api.js';
import type { RunSpec } from '../contracts/spec.js';
import { RunPublisher } from '../runs/run-publisher.service.js';
import { RunsService } from '../runs/runs.service.js';
import { SchedulerService } from '../runs/scheduler.service.js';
import { ExperimentEntity, RunEntity } from '../storage/entities.js';
import { RunsRepository } from '../storage/runs.repository.js';
import { deepClone, deepMerge, isPlainObject } from './deep-merge.js';
import { parseExperimentDocument } from './parse-document.js';
import { listPresets, presetDocument } from './presets.js';
import { hasPath, objectAtPath, specField, suggestPath } from './spec-paths.js';
import type { FieldError } from './types.js';

export class ExperimentValidationError extends Error {
  constructor(readonly errors: { path: string; message: string }[]) {
    super(`invalid experiment: ${errors.length} error(s): ${errors.slice(0, 5).map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  }
}
export class ExperimentNotFoundError extends Error {}

/** Body of POST /api/experiments/:id/clone and POST /api/runs/:id/clone. */
export interface CloneRequest {
  /** Name of the new experiment (default: derived from the source and the changes). */
  name?: string;
  /** Nested partial document merged into the source (objects merge, arrays and scalars replace). */
  overrides?: Record<string, unknown>;
  /** Dotted RunSpec path -> value, applied after `overrides`: { "optim.lr": 0.0003 }. */
  set?: Record<string, unknown>;
}

const MAX_SET_KEYS = 64;
const MAX_NAME = 120;

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function formatValue(v: unknown): string {
  return clip(typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v)), 40);
}

/** Leaf paths of a nested override object ("optim.lr"), for names and descriptions. */
function leafPaths(obj: Record<string, unknown>, prefix = ''): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const [k, v] of Object.entries(obj)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (isPlainObject(v) && Object.keys(v).length) out.push(...leafPaths(v, path));
    else out.push([path, v]);
  }
  return out;
}

/** "lr=0.0003 bs=32": the changes of a clone in the style of sweep run names. */
export function describeChanges(req: CloneRequest): string {
  const tokens = changeTokens(req);
  return tokens.length > 4 ? `${tokens.slice(0, 4).join(' ')} +${tokens.length - 4} more` : tokens.join(' ');
}

/**
 * The cloned run's name: the source name with its `label=value` tokens (from a sweep) replaced by the
 * changed values, other changes appended: "lr=0.001 bs=64" with lr 3e-4 -> "lr=0.0003 bs=64".
 */
export function clonedRunName(name: string, req: CloneRequest): string {
  const words = name.split(' ');
  const extra: string[] = [];
  for (const token of changeTokens(req)) {
    const label = token.slice(0, token.indexOf('=') + 1);
    const i = words.findIndex((w) => w.startsWith(label));
    if (i >= 0) words[i] = token;
    else extra.push(token);
  }
  return clip([...words, ...extra].join(' '), MAX_NAME);
}

function changeTokens(req: CloneRequest): string[] {
  // A new name or description is not a change of what runs.
  const overridden = leafPaths(isPlainObject(req.overrides) ? req.overrides : {}).filter(([p]) => p !== 'name' && p !== 'description');
  const changes: [string, unknown][] = [...overridden, ...Object.entries(isPlainObject(req.set) ? req.set : {})];
  const alias: Record<string, string> = { 'optim.lr': 'lr', 'train.batch_size': 'bs', 'optim.weight_decay': 'wd', 'optim.name': 'opt' };
  const short = (p: string) => alias[p] ?? p.slice(p.lastIndexOf('.') + 1);
  const counts = new Map<string, number>();
  for (const [p] of changes) counts.set(short(p), (counts.get(short(p)) ?? 0) + 1);
  return changes.map(([p, v]) => `${(counts.get(short(p)) ?? 0) > 1 ? p : short(p)}=${formatValue(v)}`);
}

/** Checks the shape of a clone request; errors name body paths (set.optim.lrr, overrides). */
export function checkCloneRequest(req: unknown): FieldError[] {
  if (req === undefined || req === null) return [];
  if (!isPlainObject(req)) return [{ path: '', message: 'body must be an object { name?, overrides?, set? }' }];
  const errors: FieldError[] = [];
  for (const key of Object.keys(req)) if (!['name', 'overrides', 'set'].includes(key)) errors.push({ path: key, message: 'unknown field (allowed: name, overrides, set)' });
  if (req.name !== undefined && (typeof req.name !== 'string' || req.name.trim().length === 0 || req.name.length > MAX_NAME)) {
    errors.push({ path: 'name', message: `must be a non-empty string of at most ${MAX_NAME} characters` });
  }
  if (req.overrides !== undefined && !isPlainObject(req.overrides)) errors.push({ path: 'overrides', message: 'must be an object (a partial experiment document)' });
  if (req.set !== undefined) {
    if (!isPlainObject(req.set)) errors.push({ path: 'set', message: 'must be an object of dotted RunSpec paths to values, e.g. { "optim.lr": 0.0003 }' });
    else {
      const keys = Object.keys(req.set);
      if (keys.length > MAX_SET_KEYS) errors.push({ path: 'set', message: `must set at most ${MAX_SET_KEYS} paths (got ${keys.length})` });
      for (const key of keys) {
        if (specField(key)) continue;
        const hint = suggestPath(key);
        errors.push({ path: `set.${key}`, message: `not a RunSpec path${hint ? `; did you mean "${hint}"?` : ''}` });
      }
    }
  }
  return errors;
}

/**
 * The usable part of a clone body plus the errors of the rest: a bad `set` path is reported together
 * with whatever the document says about the other changes (all errors at once). A body that is not an
 * object at all cannot be used, and is refused on its own.
 */
export function readCloneRequest(body: unknown): { req: CloneRequest; errors: FieldError[] } {
  const errors = checkCloneRequest(body);
  if (errors.some((e) => e.path === '' || e.path === 'overrides' || e.path === 'set')) throw new ExperimentValidationError(errors);
  const raw = (body ?? {}) as CloneRequest;
  const bad = new Set(errors.filter((e) => e.path.startsWith('set.')).map((e) => e.path.slice('set.'.length)));
  const req: CloneRequest = {
    ...(errors.some((e) => e.path === 'name') ? {} : raw.name !== undefined ? { name: raw.name } : {}),
    ...(raw.overrides !== undefined ? { overrides: raw.overrides } : {}),
    ...(raw.set !== undefined ? { set: Object.fromEntries(Object.entries(raw.set).filter(([k]) => !bad.has(k))) } : {}),
  };
  return { req, errors };
}

/**
 * Paths in `set` that the document's sweeps or variants would override, so the new value would be
 * ignored for some or all runs. Refused rather than silently dropped: the user asked for that value.
 */
export function shadowedSetPaths(doc: Record<string, unknown>, set: Record<string, unknown>): FieldError[] {
  const errors: FieldError[] = [];
  const covers = (swept: string, path: string) => path === swept || path.startsWith(`${swept}.`);
  const grid = isPlainObject(doc.grid) ? Object.keys(doc.grid) : [];
  const random = isPlainObject(doc.random) && isPlainObject(doc.random.params) ? Object.keys(doc.random.params) : [];
  const variants = Array.isArray(doc.variants) ? doc.variants : [];
  for (const path of Object.keys(set)) {
    const g = grid.find((k) => covers(k, path));
    if (g) {
      errors.push({ path: `set.${path}`, message: `the experiment sweeps ${g} in grid, which would override this value for every run; change the sweep with overrides.grid instead` });
      continue;
    }
    const r = random.find((k) => covers(k, path));
    if (r) {
      errors.push({ path: `set.${path}`, message: `the experiment samples ${r} in random, which would override this value for every run; change it with overrides.random instead` });
      continue;
    }
    const setting = variants.map((v, i) => ({ v, i })).filter(({ v }) => isPlainObject(v) && touches(v.overrides, path));
    if (setting.length) {
      const names = setting.slice(0, 3).map(({ v, i }) => (isPlainObject(v) && typeof v.name === 'string' ? `"${v.name}"` : `variants[${i}]`));
      errors.push({
        path: `set.${path}`,
        message: `${setting.length} of ${variants.length} variants set ${path} themselves (${names.join(', ')}${setting.length > 3 ? ', ...' : ''}) and would keep their own value; change them with overrides.variants instead`,
      });
    }
  }
  return errors;
}

/** Whether overrides set `path`, something inside it, or an ancestor to a non-object (null turns a section off). */
function touches(overrides: unknown, path: string): boolean {
  if (hasPath(overrides, path)) return true;
  const keys = path.split('.');
  let cur: unknown = overrides;
  for (const key of keys.slice(0, -1)) {
    if (!isPlainObject(cur) || !Object.prototype.hasOwnProperty.call(cur, key)) return false;
    cur = cur[key];
    if (!isPlainObject(cur)) return true;
  }
  return false;
}

/** The source document with `overrides` merged in and then each `set` path applied. */
export function applyCloneChanges(doc: Record<string, unknown>, req: CloneRequest): Record<string, unknown> {
  let out = deepMerge(deepClone(doc), req.overrides ?? {});
  for (const [path, value] of Object.entries(req.set ?? {})) out = deepMerge(out, objectAtPath(path, value));
  return out;
}

/** A one-run document reproducing a stored run: its resolved spec as the base, its name as the only variant. */
export function runDocument(run: { id: string; name: string; spec: RunSpec }, experiment: { name: string; tags?: unknown }, req: CloneRequest): Record<string, unknown> {
  const changes = describeChanges(req);
  const runName = clonedRunName(run.name, req);
  const doc: Record<string, unknown> = {
    name: clip(req.name ?? `${experiment.name} / ${run.name} (clone${changes ? `: ${changes}` : ''})`, MAX_NAME),
    description: `Clone of run "${run.name}" (${run.id}) of experiment "${experiment.name}"${changes ? ` with ${changes}` : ''}.`,
    ...(Array.isArray(experiment.tags) && experiment.tags.length ? { tags: deepClone(experiment.tags) } : {}),
    ...(deepClone(run.spec) as unknown as Record<string, unknown>),
  };
  const changed = applyCloneChanges(doc, { overrides: req.overrides, set: req.set });
  if (req.name !== undefined) changed.name = req.name;
  // Keeps the run's name (and the change) visible next to the original in run lists and comparisons.
  if (changed.variants === undefined) changed.variants = [{ name: runName }];
  return changed;
}

@Injectable()
export class ExperimentsService {
  constructor(
    private readonly repo: RunsRepository,
    private readonly runs: RunsService,
    private readonly scheduler: SchedulerService,
    private readonly publisher: RunPublisher,
  ) {}

  async create(input: unknown, format?: 'json' | 'yaml', earlier: FieldError[] = []): Promise<{ experiment: ExperimentView; runs: RunView[] }> {
    const parsed = parseExperimentDocument(input, format);
    // `earlier`: problems found before parsing (a clone's request), reported together with the document's.
    if (!parsed.ok || earlier.length) throw new ExperimentValidationError([...earlier, ...(parsed.ok ? [] : parsed.errors)]);
    const now = Date.now();
    const doc = parsed.document as unknown as Record<string, unknown> & { name: string; description?: string; tags?: string[] };
    const exp: ExperimentEntity = Object.assign(new ExperimentEntity(), {
      id: randomUUID(),
      name: doc.name,
      description: doc.description ?? null,
      tags: doc.tags ?? [],
      document: doc,
      archived: false,
      created_at: now,
    });
    const runs: RunEntity[] = parsed.runs.map((r, i) =>
      Object.assign(new RunEntity(), {
        id: randomUUID(),
        experiment_id: exp.id,
        name: r.name,
        status: 'queued' as const,
        reason: null,
        attempt: 0,
        priority: r.spec.priority,
        // Keeps the document's order for equal priority (FIFO) even within one millisecond.
        queued_at: now + i / 1000,
        host_id: null,
        devices: [],
        spec: r.spec,
        spec_hash: r.spec_hash,
        epochs_completed: 0,
        last_seq: 0,
        last: {},
        checkpoint_path: null,
        checkpoint_host: null,
        created_at: now + i / 1000,
        started_at: null,
        ended_at: null,
      }),
    );
    await this.repo.createExperiment(exp, runs);
    this.publisher.rememberExperiment(exp.id, exp.name);
    for (const r of runs) await this.runs.publish(r);
    this.scheduler.kick();
    return { experiment: this.view(exp, runs.map((r) => r.id)), runs: await this.publisher.views(runs) };
  }

  async launchPreset(name: string, profile: string, overrides: Record<string, unknown> = {}) {
    const doc = presetDocument(name, profile);
    return this.create({ ...doc, ...overrides });
  }

  presets() {
    return listPresets();
  }

  /** A new experiment from a stored one's document with the changes applied; its runs are queued. */
  async cloneExperiment(id: string, body: unknown) {
    const { req, errors } = readCloneRequest(body);
    const source = await this.repo.findExperiment(id);
    if (!source) throw new ExperimentNotFoundError(`experiment ${id} not found`);
    const doc = applyCloneChanges(deepClone(source.document) as Record<string, unknown>, { overrides: req.overrides });
    const shadowed = shadowedSetPaths(doc, req.set ?? {});
    const shadowedPaths = new Set(shadowed.map((e) => e.path.slice('set.'.length)));
    const set = Object.fromEntries(Object.entries(req.set ?? {}).filter(([p]) => !shadowedPaths.has(p)));
    const changed = applyCloneChanges(doc, { set });
    const changes = describeChanges(req);
    const named = isPlainObject(req.overrides) && typeof req.overrides.name === 'string';
    if (req.name !== undefined || !named) changed.name = req.name ?? clip(`${source.name} (clone${changes ? `: ${changes}` : ''})`, MAX_NAME);
    return this.create(changed, undefined, [...errors, ...shadowed]);
  }

  /** A one-run experiment repeating a stored run (its resolved spec) with the changes applied. */
  async cloneRun(runId: string, body: unknown) {
    const { req, errors } = readCloneRequest(body);
    const run = await this.runs.require(runId);
    const exp = await this.repo.findExperiment(run.experiment_id);
    const tags = (exp?.document as Record<string, unknown> | undefined)?.tags;
    return this.create(runDocument(run, { name: exp?.name ?? run.experiment_id, tags }, req), undefined, errors);
  }

  async list(includeArchived = false): Promise<ExperimentView[]> {
    const exps = await this.repo.listExperiments(includeArchived);
    const runIds = await this.repo.runIdsOfExperiments(exps.map((e) => e.id));
    return exps.map((e) => this.view(e, runIds.get(e.id) ?? []));
  }

  async get(id: string): Promise<ExperimentView & { document: Record<string, unknown> }> {
    const e = await this.repo.findExperiment(id);
    if (!e) throw new ExperimentNotFoundError(`experiment ${id} not found`);
    const runIds = await this.repo.runIdsOfExperiments([id]);
    return { ...this.view(e, runIds.get(id) ?? []), document: e.document as Record<string, unknown> };
  }

  async archive(id: string, archived: boolean): Promise<ExperimentView> {
    if (!(await this.repo.setArchived(id, archived))) throw new ExperimentNotFoundError(`experiment ${id} not found`);
    return this.get(id);
  }

  private view(e: ExperimentEntity, runIds: string[]): ExperimentView {
    return { id: e.id, name: e.name, created_at: new Date(e.created_at).toISOString(), archived: e.archived, run_ids: runIds };
  }
}
