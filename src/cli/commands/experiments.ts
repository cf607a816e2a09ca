// experiments create/list/show/clone, presets, launch, and clone (of a run).
import YAML from 'yaml';
import type { ExperimentView } from '../../contracts/api.js';
import type { PresetInfo } from '../../experiments/presets.js';
import { ApiError } from '../api-client.js';
import { printJson, type CommandDef } from '../context.js';
import { fields, table, timestamp } from '../format.js';
import { CLONE_HELP, CLONE_OPTIONS, cloneBody, enc, printCreated, printRefusal, readDocumentFile, type Created } from './shared.js';

/**
 * Sends a request that creates an experiment and prints the result; a 400 prints every error path
 * and gives exit status 1.
 */
async function createAndPrint(ctx: Parameters<CommandDef['run']>[0], send: () => Promise<Created>, subject: string): Promise<number> {
  try {
    printCreated(ctx, await send());
    return 0;
  } catch (e) {
    if (e instanceof ApiError && e.status === 400) {
      printRefusal(ctx, e, subject);
      return 1;
    }
    throw e;
  }
}

const create: CommandDef = {
  name: 'experiments create',
  args: 'FILE',
  summary: 'create an experiment from a .json/.yaml/.yml document; its runs are queued',
  help: ['On a refused document every error is printed with its dotted path, and the exit status is 1.'],
  minArgs: 1,
  maxArgs: 1,
  json: true,
  async run(ctx, [file]) {
    const doc = readDocumentFile(ctx, file);
    return createAndPrint(
      ctx,
      () => (doc.kind === 'yaml' ? ctx.api.postText<Created>('/experiments', doc.text, 'application/yaml') : ctx.api.post<Created>('/experiments', doc.value)),
      file,
    );
  },
};

const list: CommandDef = {
  name: 'experiments list',
  args: '',
  summary: 'list experiments, newest first',
  options: { archived: { type: 'boolean' } },
  help: ['--archived   include archived experiments'],
  minArgs: 0,
  maxArgs: 0,
  json: true,
  async run(ctx, _args, opts) {
    const exps = await ctx.api.get<ExperimentView[]>('/experiments', { archived: opts.archived ? 'true' : undefined });
    if (ctx.json) {
      printJson(ctx, exps);
      return 0;
    }
    if (!exps.length) {
      ctx.out('no experiments yet (create one with: experiments create FILE, or: launch seed-study)');
      return 0;
    }
    ctx.out(
      table(exps, [
        { header: 'id', value: (e) => e.id },
        { header: 'name', value: (e) => e.name, max: 50 },
        { header: 'runs', value: (e) => String(e.run_ids.length), right: true },
        { header: 'created', value: (e) => timestamp(e.created_at) },
        ...(opts.archived ? [{ header: 'archived', value: (e: ExperimentView) => (e.archived ? 'yes' : 'no') }] : []),
      ]),
    );
    return 0;
  },
};

const show: CommandDef = {
  name: 'experiments show',
  args: 'ID',
  summary: 'an experiment and its stored document (YAML)',
  minArgs: 1,
  maxArgs: 1,
  json: true,
  async run(ctx, [id]) {
    const e = await ctx.api.get<ExperimentView & { document: Record<string, unknown> }>(`/experiments/${enc(id)}`);
    if (ctx.json) {
      printJson(ctx, e);
      return 0;
    }
    ctx.out(fields([
      ['experiment', `${e.name} (${e.id})`],
      ['created', timestamp(e.created_at)],
      ['archived', e.archived ? 'yes' : 'no'],
      ['runs', `${e.run_ids.length} (list them with: runs --experiment ${e.id})`],
    ]));
    ctx.out('document:');
    ctx.out(YAML.stringify(e.document, { indent: 2 }).trimEnd().replace(/^/gm, '  '));
    return 0;
  },
};

const cloneExperiment: CommandDef = {
  name: 'experiments clone',
  args: 'ID',
  summary: 'a new experiment from a stored one with changes (e.g. --set optim.lr=3e-4); its runs are queued',
  options: CLONE_OPTIONS,
  help: [...CLONE_HELP, 'A --set path that the experiment sweeps (grid, random) or that variants set is refused.'],
  minArgs: 1,
  maxArgs: 1,
  json: true,
  async run(ctx, [id], opts) {
    const body = cloneBody(ctx, opts);
    return createAndPrint(ctx, () => ctx.api.post<Created>(`/experiments/${enc(id)}/clone`, body), `clone of experiment ${id}`);
  },
};

const cloneRun: CommandDef = {
  name: 'clone',
  args: 'RUN_ID',
  summary: 'run it again with changes: a new one-run experiment from the run\'s resolved spec',
  options: CLONE_OPTIONS,
  help: [...CLONE_HELP, 'Example: clone 0b5c... --set optim.lr=3e-4 --set train.epochs=20'],
  minArgs: 1,
  maxArgs: 1,
  json: true,
  async run(ctx, [id], opts) {
    const body = cloneBody(ctx, opts);
    return createAndPrint(ctx, () => ctx.api.post<Created>(`/runs/${enc(id)}/clone`, body), `clone of run ${id}`);
  },
};

const presets: CommandDef = {
  name: 'presets',
  args: '',
  summary: 'built-in experiment presets (the seed study) and their profiles',
  minArgs: 0,
  maxArgs: 0,
  json: true,
  async run(ctx) {
    const list = await ctx.api.get<PresetInfo[]>('/presets');
    if (ctx.json) {
      printJson(ctx, list);
      return 0;
    }
    for (const p of list) {
      ctx.out(`${p.name}: ${p.description}`);
      ctx.out(`  runs (${p.runs}): ${p.run_names.join(', ')}`);
      ctx.out(
        table(p.profiles, [
          { header: 'profile', value: (x) => (x.name === p.default_profile ? `${x.name} (default)` : x.name) },
          { header: 'epochs', value: (x) => String(x.epochs), right: true },
          { header: 'train', value: (x) => (x.train_subset == null ? 'all' : String(x.train_subset)), right: true },
          { header: 'test', value: (x) => (x.test_subset == null ? 'all' : String(x.test_subset)), right: true },
          { header: 'description', value: (x) => x.description },
        ])
          .split('\n')
          .map((l) => `  ${l}`)
          .join('\n'),
      );
    }
    return 0;
  },
};

const launch: CommandDef = {
  name: 'launch',
  args: 'PRESET',
  summary: 'create and queue a preset experiment in one call (see: presets)',
  options: { profile: { type: 'string' }, name: { type: 'string' } },
  help: ['--profile P   full | quick | smoke (the server\'s default: smoke)', '--name NAME   name of the experiment created'],
  minArgs: 1,
  maxArgs: 1,
  json: true,
  async run(ctx, [preset], opts) {
    const body: Record<string, string> = {};
    if (typeof opts.profile === 'string') body.profile = opts.profile;
    if (typeof opts.name === 'string') body.name = opts.name;
    try {
      printCreated(ctx, await ctx.api.post<Created>(`/presets/${enc(preset)}/launch`, body), 'launched');
      return 0;
    } catch (e) {
      if (e instanceof ApiError && e.status === 400) {
        printRefusal(ctx, e, `launch of ${preset}`);
        return 1;
      }
      throw e;
    }
  },
};

export const EXPERIMENT_COMMANDS: CommandDef[] = [create, list, show, cloneExperiment, presets, launch, cloneRun];
