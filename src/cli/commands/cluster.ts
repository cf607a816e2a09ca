// queue (positions and why each run waits) and hosts (devices, occupancy, live stats).
import type { HostView, RunView } from '../../contracts/api.js';
import { printJson, type CommandDef } from '../context.js';
import { ago, megabytes, table } from '../format.js';

interface QueueEntry {
  position: number;
  run: RunView;
  reason: string | null;
}

const queue: CommandDef = {
  name: 'queue',
  args: '',
  summary: 'queued runs in scheduling order, with their position and why each waits',
  minArgs: 0,
  maxArgs: 0,
  json: true,
  async run(ctx) {
    const entries = await ctx.api.get<QueueEntry[]>('/queue');
    if (ctx.json) {
      printJson(ctx, entries);
      return 0;
    }
    if (!entries.length) {
      ctx.out('the queue is empty');
      return 0;
    }
    ctx.out(
      table(entries, [
        { header: '#', value: (e) => String(e.position), right: true },
        { header: 'run', value: (e) => e.run.id },
        { header: 'name', value: (e) => e.run.name, max: 36 },
        { header: 'experiment', value: (e) => e.run.experiment_name, max: 28 },
        { header: 'needs', value: (e) => needs(e.run) },
        { header: 'prio', value: (e) => String(e.run.spec?.priority ?? 0), right: true },
        { header: 'why it waits', value: (e) => e.reason ?? 'not yet considered by the scheduler' },
      ]),
    );
    const stuck = entries.filter((e) => e.reason?.startsWith('unschedulable')).length;
    if (stuck) ctx.out(`\n${stuck} run${stuck === 1 ? ' is' : 's are'} unschedulable: no connected host can ever satisfy ${stuck === 1 ? 'it' : 'them'} (see the reason).`);
    return 0;
  },
};

function needs(r: RunView): string {
  const res = r.spec?.resources;
  if (!res) return '';
  let s = res.gpus > 0 ? `${res.gpus} GPU${res.gpus > 1 ? 's' : ''}` : 'CPU';
  if (res.min_gpu_memory_mb > 0) s += ` >=${res.min_gpu_memory_mb}MB`;
  if (res.labels?.length) s += ` [${res.labels.join(',')}]`;
  if (res.share) s += ' shared';
  return s;
}

function deviceSummary(h: HostView): string {
  const gpus = h.devices.filter((d) => d.kind === 'cuda');
  if (!gpus.length) return `CPU (${h.cpu_slots} slot${h.cpu_slots === 1 ? '' : 's'})`;
  const byName = new Map<string, number>();
  for (const d of gpus) {
    const key = `${d.name} ${megabytes(d.memory_total_mb)}`;
    byName.set(key, (byName.get(key) ?? 0) + 1);
  }
  return [...byName.entries()].map(([k, n]) => `${n}x ${k}`).join(', ');
}

function busy(h: HostView): string {
  const gpus = h.devices.filter((d) => d.kind === 'cuda');
  const cpu = h.devices.find((d) => d.kind === 'cpu');
  const parts: string[] = [];
  if (gpus.length) parts.push(`${gpus.filter((d) => d.run_ids.length).length}/${gpus.length} GPUs`);
  if (h.cpu_slots > 0) parts.push(`${cpu?.run_ids.length ?? 0}/${h.cpu_slots} CPU slots`);
  return parts.join(', ');
}

const hosts: CommandDef = {
  name: 'hosts',
  args: '',
  summary: 'worker hosts: status, labels, devices, what runs where, live GPU stats',
  minArgs: 0,
  maxArgs: 0,
  json: true,
  async run(ctx) {
    const list = await ctx.api.get<HostView[]>('/hosts');
    if (ctx.json) {
      printJson(ctx, list);
      return 0;
    }
    if (!list.length) {
      ctx.out('no hosts have connected yet (start a worker: see README, "Add a GPU host")');
      return 0;
    }
    ctx.out(
      table(list, [
        { header: 'name', value: (h) => h.name, max: 24 },
        { header: 'id', value: (h) => h.id, max: 36 },
        { header: 'status', value: (h) => h.status },
        { header: 'labels', value: (h) => h.labels.join(','), max: 30 },
        { header: 'devices', value: deviceSummary, max: 40 },
        { header: 'busy', value: busy },
        { header: 'last seen', value: (h) => ago(h.last_seen) },
      ]),
    );
    const gpus = list.flatMap((h) => h.devices.filter((d) => d.kind === 'cuda').map((d) => ({ h, d })));
    if (gpus.length) {
      ctx.out('');
      ctx.out(
        table(gpus, [
          { header: 'host', value: ({ h }) => h.name, max: 24 },
          { header: 'gpu', value: ({ d }) => String(d.index), right: true },
          { header: 'device', value: ({ d }) => d.name, max: 28 },
          { header: 'memory', value: ({ d }) => megabytes(d.memory_total_mb), right: true },
          { header: 'util', value: ({ d }) => (d.stats?.utilization_pct == null ? '' : `${Math.round(d.stats.utilization_pct)}%`), right: true },
          { header: 'mem used', value: ({ d }) => megabytes(d.stats?.memory_used_mb), right: true },
          { header: 'temp', value: ({ d }) => (d.stats?.temperature_c == null ? '' : `${Math.round(d.stats.temperature_c)}C`), right: true },
          { header: 'runs', value: ({ d }) => d.run_ids.join(',') },
        ]),
      );
    }
    return 0;
  },
};

export const CLUSTER_COMMANDS: CommandDef[] = [queue, hosts];
