// Scheduler benchmark: 1,000 queued runs (mixed 1/2/4/8 GPUs, priorities, labels, memory, some CPU and
// some never schedulable) on 100 simulated hosts with 8 GPUs each. An in-process loop frees one running
// run's slot, takes a capacity snapshot, calls schedule() and stops the clock when the placements are
// decided; then it applies them and tops the queue back up. Prints ONE JSON object.
//
//   npm run build:server && npm run bench:schedule [-- --decisions 2000 --runs 1000 --hosts 100 --seed 1]
//
// The functions are exported so a later harness can drive the real service and ZeroMQ instead.
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { mulberry32 } from '../src/experiments/prng.js';
import { schedule, type HostCapacity, type Placement, type QueuedRun, type ScheduleOptions } from '../src/runs/scheduler.js';

export interface BenchOptions {
  runs: number;
  hosts: number;
  gpusPerHost: number;
  cpuSlotsPerHost: number;
  decisions: number;
  warmup: number;
  seed: number;
  schedule?: ScheduleOptions;
}

export const DEFAULT_OPTIONS: BenchOptions = { runs: 1000, hosts: 100, gpusPerHost: 8, cpuSlotsPerHost: 2, decisions: 2000, warmup: 100, seed: 1 };

type Rng = () => number;

function pickWeighted<T>(rng: Rng, table: [T, number][]): T {
  const total = table.reduce((s, [, w]) => s + w, 0);
  let x = rng() * total;
  for (const [v, w] of table) if ((x -= w) < 0) return v;
  return table[table.length - 1][0];
}

/** 60% a100 (80 GB), 30% h100 (80 GB), 10% unlabelled 40 GB hosts. */
export function makeHosts(opts: BenchOptions, rng: Rng): HostCapacity[] {
  return Array.from({ length: opts.hosts }, (_, i) => {
    const kind = pickWeighted(rng, [
      ['a100', 6],
      ['h100', 3],
      ['plain', 1],
    ] as [string, number][]);
    return {
      host_id: `host-${String(i).padStart(3, '0')}`,
      labels: kind === 'plain' ? [] : [kind],
      online: true,
      devices: Array.from({ length: opts.gpusPerHost }, (_, d) => ({ index: d, kind: 'cuda' as const, memory_total_mb: kind === 'plain' ? 40000 : 80000, run_ids: [] as string[] })),
      cpu_slots: opts.cpuSlotsPerHost,
      cpu_run_ids: [] as string[],
    };
  });
}

/** gpus 1/2/4/8 (50/25/15/10%), 4% CPU runs, 1% asking for 16 GPUs (never schedulable). */
export function makeRun(seq: number, rng: Rng): QueuedRun {
  const gpus = pickWeighted(rng, [
    [1, 48],
    [2, 24],
    [4, 14],
    [8, 9],
    [0, 4],
    [16, 1],
  ] as [number, number][]);
  const labels = pickWeighted(rng, [
    [[], 70],
    [['a100'], 20],
    [['h100'], 10],
  ] as [string[], number][]);
  return {
    id: `run-${String(seq).padStart(6, '0')}`,
    priority: pickWeighted(rng, [
      [0, 70],
      [10, 15],
      [100, 5],
      [-5, 10],
    ] as [number, number][]),
    queued_at: seq,
    resources: { gpus, min_gpu_memory_mb: rng() < 0.1 ? 80000 : 0, labels, share: gpus === 1 && rng() < 0.1 },
  };
}

/** The orchestrator's state as the scheduler service sees it: queue, occupancy, host capacity. */
export class SimCluster {
  readonly queue = new Map<string, QueuedRun>();
  readonly running = new Map<string, Placement & { share: boolean }>();
  private seq = 0;

  constructor(
    readonly hosts: HostCapacity[],
    private readonly rng: Rng,
  ) {}

  enqueueUpTo(n: number): void {
    while (this.queue.size < n) {
      const r = makeRun(this.seq++, this.rng);
      this.queue.set(r.id, r);
    }
  }

  /** The snapshot the service would hand to schedule(). */
  snapshot(): { queued: QueuedRun[]; hosts: HostCapacity[] } {
    return {
      queued: [...this.queue.values()],
      hosts: this.hosts.map((h) => ({
        ...h,
        devices: h.devices.map((d) => ({ ...d, run_ids: [...d.run_ids], shared_ok: d.run_ids.length > 0 && d.run_ids.every((id) => this.running.get(id)?.share === true) })),
        cpu_run_ids: [...h.cpu_run_ids],
      })),
    };
  }

  apply(placements: Placement[]): void {
    for (const p of placements) {
      const run = this.queue.get(p.run_id);
      if (!run) continue;
      this.queue.delete(p.run_id);
      this.running.set(p.run_id, { ...p, share: run.resources.share });
      const host = this.hosts.find((h) => h.host_id === p.host_id)!;
      for (const d of p.devices) {
        if (d === -1) host.cpu_run_ids.push(p.run_id);
        else host.devices.find((x) => x.index === d)!.run_ids.push(p.run_id);
      }
    }
  }

  /** Finishes a random running run, freeing its slot; returns its id. */
  freeRandom(): string | null {
    if (this.running.size === 0) return null;
    const ids = [...this.running.keys()];
    const id = ids[Math.floor(this.rng() * ids.length)];
    const p = this.running.get(id)!;
    this.running.delete(id);
    const host = this.hosts.find((h) => h.host_id === p.host_id)!;
    host.cpu_run_ids = host.cpu_run_ids.filter((r) => r !== id);
    for (const d of host.devices) d.run_ids = d.run_ids.filter((r) => r !== id);
    return id;
  }

  busyGpus(): number {
    return this.hosts.reduce((n, h) => n + h.devices.filter((d) => d.run_ids.length > 0).length, 0);
  }
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

const round = (x: number, digits = 3): number => Number(x.toFixed(digits));

export function runScheduleBench(opts: BenchOptions = DEFAULT_OPTIONS) {
  const rng = mulberry32(opts.seed);
  const cluster = new SimCluster(makeHosts(opts, rng), rng);
  cluster.enqueueUpTo(opts.runs);

  // Cold pass: the whole queue against an empty cluster.
  const cold0 = performance.now();
  const first = schedule(cluster.snapshot().queued, cluster.snapshot().hosts, opts.schedule);
  const coldMs = performance.now() - cold0;
  cluster.apply(first.placements);
  cluster.enqueueUpTo(opts.runs);

  const latency: number[] = [];
  const cpu: number[] = [];
  let placements = 0;
  let decisionsThatPlaced = 0;
  let busy = 0;
  let unschedulable = 0;
  let queueSize = 0;
  for (let i = 0; i < opts.warmup + opts.decisions; i++) {
    if (!cluster.freeRandom()) break;
    // Slot freed: from here until the placements are decided is what the user waits for.
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const snap = cluster.snapshot();
    const result = schedule(snap.queued, snap.hosts, opts.schedule);
    const c1 = process.cpuUsage(c0);
    const t1 = performance.now();
    cluster.apply(result.placements);
    cluster.enqueueUpTo(opts.runs);
    if (i < opts.warmup) continue;
    latency.push(t1 - t0);
    cpu.push((c1.user + c1.system) / 1000);
    placements += result.placements.length;
    if (result.placements.length) decisionsThatPlaced++;
    busy += cluster.busyGpus();
    unschedulable += result.waiting.filter((w) => w.unschedulable).length;
    queueSize += snap.queued.length;
  }
  const n = latency.length;
  const sortedLatency = [...latency].sort((a, b) => a - b);
  const sortedCpu = [...cpu].sort((a, b) => a - b);
  const p99 = percentile(sortedLatency, 99);
  return {
    bench: 'schedule',
    queued_runs: opts.runs,
    hosts: opts.hosts,
    gpus_per_host: opts.gpusPerHost,
    cpu_slots_per_host: opts.cpuSlotsPerHost,
    decisions: n,
    warmup_decisions: opts.warmup,
    measured: 'slot freed -> capacity snapshot -> schedule() -> placements decided (in-process, no I/O)',
    cold_pass_ms: round(coldMs),
    cold_pass_placements: first.placements.length,
    latency_ms: {
      p50: round(percentile(sortedLatency, 50)),
      p90: round(percentile(sortedLatency, 90)),
      p99: round(p99),
      max: round(sortedLatency[n - 1] ?? 0),
      mean: round(latency.reduce((s, x) => s + x, 0) / Math.max(1, n)),
    },
    cpu_ms_per_decision: {
      mean: round(cpu.reduce((s, x) => s + x, 0) / Math.max(1, n)),
      p50: round(percentile(sortedCpu, 50)),
      p99: round(percentile(sortedCpu, 99)),
    },
    placements_per_decision: round(placements / Math.max(1, n)),
    decisions_that_placed_pct: round((100 * decisionsThatPlaced) / Math.max(1, n), 1),
    mean_queue_length: round(queueSize / Math.max(1, n), 1),
    mean_unschedulable_in_queue: round(unschedulable / Math.max(1, n), 1),
    gpu_utilization_pct: round((100 * busy) / Math.max(1, n) / (opts.hosts * opts.gpusPerHost), 1),
    target_p99_ms: 100,
    meets_target: p99 < 100,
    node: process.version,
    seed: opts.seed,
  };
}

function parseArgs(argv: string[]): BenchOptions {
  const opts = { ...DEFAULT_OPTIONS };
  const flags: Record<string, keyof BenchOptions> = {
    '--runs': 'runs',
    '--hosts': 'hosts',
    '--gpus': 'gpusPerHost',
    '--cpu-slots': 'cpuSlotsPerHost',
    '--decisions': 'decisions',
    '--warmup': 'warmup',
    '--seed': 'seed',
  };
  for (let i = 0; i < argv.length; i++) {
    const key = flags[argv[i]];
    const value = Number(argv[i + 1]);
    if (!key || !Number.isInteger(value) || value < 0) throw new Error(`usage: schedule.bench [${Object.keys(flags).join(' N] [')} N]; bad argument ${argv[i]}`);
    (opts as unknown as Record<string, number>)[key] = value;
    i++;
  }
  return opts;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    console.log(JSON.stringify(runScheduleBench(parseArgs(process.argv.slice(2))), null, 2));
  } catch (e) {
    console.error((e as Error).message);
    process.exitCode = 2;
  }
}
