// Pieces several commands share: printing a created experiment, reading document files, --set.
import { readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import YAML from 'yaml';
import type { ExperimentView, RunView } from '../../contracts/api.js';
import { ApiError, CliError } from '../api-client.js';
import { printJson, UsageError, type CliContext } from '../context.js';
import { table } from '../format.js';
import { parseSetArguments, SetArgumentError } from '../set-values.js';

export interface Created {
  experiment: ExperimentView;
  runs: RunView[];
}

export function enc(id: string): string {
  return encodeURIComponent(id);
}

export function printCreated(ctx: CliContext, created: Created, verb = 'created'): void {
  if (ctx.json) return printJson(ctx, created);
  const n = created.runs.length;
  ctx.out(`${verb} experiment "${created.experiment.name}" (${created.experiment.id}) with ${n} run${n === 1 ? '' : 's'}:`);
  ctx.out(runsTable(created.runs, { experiment: false }));
}

export function runsTable(runs: readonly RunView[], opts: { experiment: boolean }): string {
  return table(runs, [
    { header: 'id', value: (r) => r.id },
    ...(opts.experiment ? [{ header: 'experiment', value: (r: RunView) => r.experiment_name, max: 28 }] : []),
    { header: 'name', value: (r) => r.name, max: 40 },
    { header: 'status', value: (r) => r.status },
    { header: 'host', value: (r) => r.host_id ?? '', max: 20 },
    { header: 'epochs', value: (r) => `${r.epochs_completed}/${r.spec?.train?.epochs ?? '?'}`, right: true },
    { header: 'test acc', value: (r) => (r.last.test_acc == null ? '' : `${(r.last.test_acc * 100).toFixed(2)}%`), right: true },
    { header: 'reason', value: (r) => r.reason ?? '', max: 70 },
  ]);
}

/** Prints a 400's error paths one per line under a heading naming what was refused. */
export function printRefusal(ctx: CliContext, e: ApiError, subject: string): void {
  if (!e.errors.length) {
    ctx.err(`${subject}: ${e.message} (HTTP ${e.status})`);
    return;
  }
  ctx.err(`${subject} was refused (HTTP ${e.status}), ${e.errors.length} error${e.errors.length === 1 ? '' : 's'}:`);
  for (const issue of e.errors) ctx.err(`  ${issue.path || '(document)'}: ${issue.message}`);
}

export type DocumentFile = { kind: 'json'; value: unknown } | { kind: 'yaml'; text: string };

/** Reads an experiment document (or overrides) file; .json is parsed here, YAML goes to the server as text. */
export function readDocumentFile(ctx: CliContext, file: string): DocumentFile {
  const ext = extname(file).toLowerCase();
  if (!['.json', '.yaml', '.yml'].includes(ext)) throw new UsageError(`${file}: expected a .json, .yaml or .yml file`);
  let text: string;
  try {
    text = readFileSync(resolve(ctx.io.cwd, file), 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(`cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (e as Error).message}`);
  }
  if (ext === '.json') {
    try {
      return { kind: 'json', value: JSON.parse(text) };
    } catch (e) {
      throw new CliError(`${file}: invalid JSON: ${(e as Error).message}`);
    }
  }
  return { kind: 'yaml', text };
}

/** Overrides for clone: a JSON or YAML file parsed here (the clone endpoint takes JSON). */
export function readOverridesFile(ctx: CliContext, file: string): unknown {
  const doc = readDocumentFile(ctx, file);
  if (doc.kind === 'json') return doc.value;
  const parsed = YAML.parseDocument(doc.text, { strict: true, uniqueKeys: true });
  if (parsed.errors.length) throw new CliError(`${file}: invalid YAML: ${parsed.errors[0].message.split('\n')[0]}`);
  return parsed.toJS({ maxAliasCount: 100 });
}

export function setArguments(opts: Record<string, unknown>): Record<string, unknown> | undefined {
  const list = (opts.set as string[] | undefined) ?? [];
  if (!list.length) return undefined;
  try {
    return parseSetArguments(list);
  } catch (e) {
    if (e instanceof SetArgumentError) throw new UsageError(e.message);
    throw e;
  }
}

/** Body of the clone endpoints from --name, --overrides FILE and --set options. */
export function cloneBody(ctx: CliContext, opts: Record<string, unknown>): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (typeof opts.name === 'string') body.name = opts.name;
  if (typeof opts.overrides === 'string') body.overrides = readOverridesFile(ctx, opts.overrides);
  const set = setArguments(opts);
  if (set) body.set = set;
  return body;
}

export const CLONE_OPTIONS = {
  set: { type: 'string', multiple: true },
  name: { type: 'string' },
  overrides: { type: 'string' },
} as const;

export const CLONE_HELP = [
  '--set PATH=VALUE   change one RunSpec field (repeatable); VALUE is read as YAML: 3e-4, true, null, [a, b]',
  '--overrides FILE   a .json/.yaml partial document merged in first (objects merge, lists replace)',
  '--name NAME        name of the new experiment',
];
