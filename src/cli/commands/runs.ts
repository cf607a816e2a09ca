// runs (table with filters), run (details + latest values), cancel, requeue.
import type { RunView } from '../../contracts/api.js';
import { describeVariant } from '../../metrics/compare.js';
import { ApiError } from '../api-client.js';
import { printJson, UsageError, type CommandDef } from '../context.js';
import { duration, fields, num, pct, timestamp } from '../format.js';
import { enc, runsTable } from './shared.js';

const STATUSES = ['queued', 'assigned', 'running', 'succeeded', 'failed', 'cancelled', 'lost', 'skipped'];

function intOption(name: string, value: unknown, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max} (got "${String(value)}")`);
  return n;
}

const runs: CommandDef = {
  name: 'runs',
  args: '',
  summary: 'list runs (newest first) with filters',
  options: {
    status: { type: 'string' },
    experiment: { type: 'string' },
    host: { type: 'string' },
    tag: { type: 'string' },
    sort: { type: 'string' },
    limit: { type: 'string' },
    offset: { type: 'string' },
  },
  help: [
    `--status S[,S]     only runs in these statuses (${STATUSES.join(', ')})`,
    '--experiment ID    only runs of this experiment',
    '--host ID          only runs placed on this host',
    '--tag TAG          only runs of experiments with this tag',
    '--sort KEY         created_at, -created_at (default), name, -name, status, priority, -priority',
    '--limit N          at most N runs (default 100, at most 1000); --offset N skips the first N',
  ],
  minArgs: 0,
  maxArgs: 0,
  json: true,
  async run(ctx, _args, opts) {
    const status = opts.status as string | undefined;
    if (status !== undefined) {
      const bad = status.split(',').filter((s) => !STATUSES.includes(s.trim()));
      if (bad.length) throw new UsageError(`--status: unknown status ${bad.map((b) => `"${b}"`).join(', ')}; choose from ${STATUSES.join(', ')}`);
    }
    const page = await ctx.api.get<{ items: RunView[]; total: number }>('/runs', {
      status: status?.split(',').map((s) => s.trim()).join(','),
      experiment_id: opts.experiment as string | undefined,
      host_id: opts.host as string | undefined,
      tag: opts.tag as string | undefined,
      sort: opts.sort as string | undefined,
      limit: intOption('limit', opts.limit, 1, 1000),
      offset: intOption('offset', opts.offset, 0, Number.MAX_SAFE_INTEGER),
    });
    if (ctx.json) {
      printJson(ctx, page);
      return 0;
    }
    if (!page.items.length) {
      ctx.out(page.total ? `no runs on this page (${page.total} match)` : 'no runs match');
      return 0;
    }
    ctx.out(runsTable(page.items, { experiment: !opts.experiment }));
    if (page.total > page.items.length) ctx.out(`(${page.items.length} of ${page.total} runs; use --limit/--offset for more)`);
    return 0;
  },
};

const run: CommandDef = {
  name: 'run',
  args: 'ID',
  summary: "one run: status and why, placement, spec, latest values, status history",
  minArgs: 1,
  maxArgs: 1,
  json: true,
  async run(ctx, [id]) {
    const [v, transitions] = await Promise.all([
      ctx.api.get<RunView>(`/runs/${enc(id)}`),
      ctx.api.get<{ from: string | null; to: string; reason: string | null; at: string }[]>(`/runs/${enc(id)}/transitions`),
    ]);
    if (ctx.json) {
      printJson(ctx, { ...v, transitions });
      return 0;
    }
    const p = v.progress;
    ctx.out(
      fields([
        ['run', `${v.name} (${v.id})`],
        ['experiment', `${v.experiment_name} (${v.experiment_id})`],
        ['status', v.status],
        ['reason', v.reason],
        ['host', v.host_id ? `${v.host_id} devices ${v.devices.map((d) => (d < 0 ? 'cpu' : `gpu${d}`)).join(',')}` : ''],
        ['attempt', `${v.attempt} (restarts allowed: ${v.spec?.max_restarts ?? '?'})`],
        ['epochs', `${v.epochs_completed}/${v.spec?.train?.epochs ?? '?'}${p && p.steps_per_epoch ? `, now epoch ${p.epoch} step ${p.step}/${p.steps_per_epoch}` : ''}`],
        ['variant', describeVariant(v.spec)],
        ['resources', resources(v)],
        ['spec hash', v.spec_hash],
        ['created', timestamp(v.created_at)],
        ['started', timestamp(v.started_at)],
        ['ended', timestamp(v.ended_at)],
      ]),
    );
    ctx.out('');
    ctx.out('latest values:');
    ctx.out(
      fields([
        ['  train loss', num(v.last.train_loss, 4)],
        ['  train acc', pct(v.last.train_acc)],
        ['  test acc', pct(v.last.test_acc)],
        ['  macro F1', num(v.last.macro_f1, 4)],
        ['  time/epoch', duration(v.last.epoch_seconds)],
        ['  images/s', num(v.last.images_per_s, 0)],
      ]),
    );
    if (transitions.length) {
      ctx.out('');
      ctx.out('history:');
      const shown = transitions.slice(-10);
      if (shown.length < transitions.length) ctx.out(`  (${transitions.length - shown.length} earlier transitions not shown)`);
      for (const t of shown) ctx.out(`  ${timestamp(t.at)}  ${(t.from ?? '').padStart(9)} -> ${t.to.padEnd(9)} ${t.reason ?? ''}`.trimEnd());
    }
    return 0;
  },
};

function resources(v: RunView): string {
  const r = v.spec?.resources;
  if (!r) return '';
  const parts = [r.gpus > 0 ? `${r.gpus} GPU${r.gpus > 1 ? 's' : ''}` : 'CPU slot'];
  if (r.min_gpu_memory_mb > 0) parts.push(`>= ${r.min_gpu_memory_mb} MB`);
  if (r.labels?.length) parts.push(`labels [${r.labels.join(', ')}]`);
  if (r.share) parts.push('may share a GPU');
  parts.push(`priority ${v.spec.priority}`);
  return parts.join(', ');
}

/** cancel/requeue: one POST per id; every id is tried, and the exit status says whether all worked. */
function perRun(name: 'cancel' | 'requeue', summary: string): CommandDef {
  return {
    name,
    args: name === 'cancel' ? 'ID [ID...]' : 'ID',
    summary,
    minArgs: 1,
    maxArgs: name === 'cancel' ? 1000 : 1,
    json: true,
    async run(ctx, ids) {
      let failed = 0;
      const results: RunView[] = [];
      for (const id of ids) {
        try {
          const v = await ctx.api.post<RunView>(`/runs/${enc(id)}/${name}`);
          results.push(v);
          if (!ctx.json) ctx.out(`${v.id} ${v.name}: ${v.status}${v.reason ? ` (${v.reason})` : ''}`);
        } catch (e) {
          if (!(e instanceof ApiError) || e.status >= 500) throw e;
          failed++;
          ctx.err(`${id}: ${e.message}`);
        }
      }
      if (ctx.json) printJson(ctx, results);
      return failed ? 1 : 0;
    },
  };
}

export const RUN_COMMANDS: CommandDef[] = [
  runs,
  run,
  perRun('cancel', 'cancel runs: queued ones end at once, running ones stop at the next step'),
  perRun('requeue', 'put a lost run back in the queue'),
];
