// npm run bench:ingest — the real ingest path under load, printed as JSON.
//
// The orchestrator runs in this process; simulated workers (signed ZeroMQ frames over real sockets)
// and 10 socket.io dashboard clients run in a forked child, so the server's event loop is measured
// alone. Phase 1 (throughput): 20 workers stream metric batches as fast as acks allow; points/s
// stored. Phase 2 (latency): 20 workers x 20 messages/s; worker-emit -> dashboard-receive p50/p99.
// The longest event-loop stall of the server during each phase is reported too.
//   node dist/bench/ingest.bench.js [--db sqlite|postgres|both] [--points 2000000] [--seconds 10]
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { io } from 'socket.io-client';
import { loadConfig } from '../src/config/app-config.js';
import type { ServerToClientEvents } from '../src/contracts/api.js';
import type { Message } from '../src/contracts/wire.js';
import { IngestService } from '../src/metrics/ingest.service.js';
import { createApp } from '../src/main.js';
import { startPostgres } from '../test/support/postgres.js';
import { SimulatedWorker } from './simulated-worker.js';

const KEY = 'bench-worker-key-0123456789abcdef';
const WORKERS = 20;
const CLIENTS = 10;

interface LoadRequest {
  phase: 'throughput' | 'latency';
  endpoint: string;
  url: string;
  totalPoints: number;
  pointsPerMessage: number;
  seconds: number;
  ratePerWorker: number;
}

// ---------------------------------------------------------------- load generator (child process)

async function load(req: LoadRequest): Promise<Record<string, unknown>> {
  const workers: SimulatedWorker[] = [];
  for (let i = 0; i < WORKERS; i++) {
    const w = new SimulatedWorker({ endpoint: req.endpoint, key: KEY, host: `bench-${i}`, cpuSlots: 1, heartbeatMs: 500, recordAcks: false });
    await w.connect();
    workers.push(w);
  }
  const experiment = await post(req.url + '/api/experiments', {
    name: `bench ${req.phase}`,
    data: { source: 'synthetic', synthetic: { train_size: 10, test_size: 10, image_size: 36, num_classes: 2 } },
    model: { num_classes: 2 },
    grid: { 'train.seed': Array.from({ length: WORKERS }, (_, i) => i) },
  });
  const runIds: string[] = experiment.runs.map((r: { id: string }) => r.id);
  // Each worker got one run (1 CPU slot each).
  const assigned = await Promise.all(workers.map((w) => w.next((m) => m.header.type === 'assign') as Promise<Message<'assign'>>));

  const latencies: number[] = [];
  const clients = [];
  for (let c = 0; c < CLIENTS; c++) {
    const s = io(req.url, { transports: ['websocket'], forceNew: true });
    await new Promise<void>((r) => s.once('connect', () => r()));
    (s as unknown as { on: (e: 'run.metrics', f: ServerToClientEvents['run.metrics']) => void }).on('run.metrics', (e) => {
      const now = Date.now();
      for (const p of e.points) if (p.key === 'latency_probe') latencies.push(now - p.wall_time * 1000);
    });
    for (const id of runIds) await s.emitWithAck('subscribe', { run_id: id, after_seq: 0 });
    clients.push(s);
  }

  const result: Record<string, unknown> = {};
  if (req.phase === 'throughput') {
    const perWorker = Math.ceil(req.totalPoints / WORKERS / req.pointsPerMessage);
    const t0 = Date.now();
    await Promise.all(
      workers.map(async (w, i) => {
        const a = assigned[i].content;
        let seq = a.first_seq;
        const window = 16; // messages in flight per worker, like the agent's unacked spool
        for (let m = 0; m < perWorker; m++) {
          const points = [];
          for (let k = 0; k < req.pointsPerMessage; k++) {
            const step = m * req.pointsPerMessage + k;
            points.push({ key: k % 2 ? 'train_loss' : 'train_acc', step, epoch: 1, value: Math.random(), wall_time: Date.now() / 1000 });
          }
          w.send('metrics', { points }, { run_id: a.run_id, seq: seq++ });
          if (seq - a.first_seq - (w.lastAck.get(a.run_id) ?? 0) >= window) await w.waitAck(a.run_id, seq - a.first_seq - window);
        }
        await w.waitAck(a.run_id, seq - 1);
      }),
    );
    const seconds = (Date.now() - t0) / 1000;
    result.points = perWorker * WORKERS * req.pointsPerMessage;
    result.seconds = seconds;
    result.points_per_s = Math.round((perWorker * WORKERS * req.pointsPerMessage) / seconds);
  } else {
    const t0 = Date.now();
    await Promise.all(
      workers.map(async (w, i) => {
        const a = assigned[i].content;
        let seq = a.first_seq;
        const interval = 1000 / req.ratePerWorker;
        let next = Date.now() + Math.random() * interval;
        while (Date.now() - t0 < req.seconds * 1000) {
          await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
          next += interval;
          const now = Date.now() / 1000;
          w.send('metrics', { points: [
            { key: 'latency_probe', step: seq, epoch: 1, value: 0, wall_time: now },
            { key: 'train_loss', step: seq, epoch: 1, value: Math.random(), wall_time: now },
          ] }, { run_id: a.run_id, seq: seq++ });
        }
      }),
    );
    await new Promise((r) => setTimeout(r, 1000));
    latencies.sort((x, y) => x - y);
    const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
    result.messages_per_s = WORKERS * req.ratePerWorker;
    result.deliveries = latencies.length;
    result.latency_ms = { p50: q(0.5), p99: q(0.99), max: latencies[latencies.length - 1] };
  }
  for (const c of clients) c.close();
  for (const w of workers) await w.close();
  return result;
}

async function post(url: string, body: unknown): Promise<{ runs: { id: string }[] }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status !== 201) throw new Error(`POST ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as { runs: { id: string }[] };
}

// ---------------------------------------------------------------- server (main process)

async function phase(db: 'sqlite' | 'postgres', req: Omit<LoadRequest, 'endpoint' | 'url'>) {
  const varDir = mkdtempSync(join(tmpdir(), 'trainyard-bench-'));
  const pg = db === 'postgres' ? await startPostgres() : null;
  if (db === 'postgres' && !pg) throw new Error('PostgreSQL binaries not found');
  const config = loadConfig({}, {
    port: 0,
    zmqBind: 'tcp://127.0.0.1:*',
    sqlitePath: join(varDir, 'bench.sqlite'),
    databaseUrl: pg?.url,
    workerKey: KEY,
    varDir,
    localWorker: false,
    logLevel: 'error',
  });
  const app = await createApp(config);
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  const cpu0 = process.cpuUsage();
  const child = fork(fileURLToPath(import.meta.url), ['--child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const result = await new Promise<Record<string, unknown>>((resolve, reject) => {
    child.once('message', (m) => resolve(m as Record<string, unknown>));
    child.once('exit', (code) => code && reject(new Error(`load generator exited ${code}`)));
    child.send({ ...req, endpoint: config.zmqConnectEndpoint, url });
  });
  h.disable();
  const cpu = process.cpuUsage(cpu0);
  const ingest = app.get(IngestService);
  const out = {
    ...result,
    server_cpu_s: +((cpu.user + cpu.system) / 1e6).toFixed(2),
    event_loop_max_stall_ms: +(h.max / 1e6).toFixed(1),
    event_loop_p99_delay_ms: +(h.percentile(99) / 1e6).toFixed(1),
    batches: ingest.stats.batches,
    stored_points: ingest.stats.points,
  };
  await app.close();
  await pg?.stop();
  rmSync(varDir, { recursive: true, force: true });
  return out;
}

async function main() {
  if (process.argv.includes('--child')) {
    process.once('message', async (req) => {
      try {
        process.send!(await load(req as LoadRequest));
        process.exit(0);
      } catch (e) {
        console.error(e);
        process.exit(1);
      }
    });
    return;
  }
  const { values } = parseArgs({
    options: { db: { type: 'string', default: 'both' }, points: { type: 'string', default: '2000000' }, seconds: { type: 'string', default: '10' }, 'points-per-message': { type: 'string', default: '1000' } },
  });
  const dbs = values.db === 'both' ? (['sqlite', 'postgres'] as const) : [values.db as 'sqlite' | 'postgres'];
  const report: Record<string, unknown> = { workers: WORKERS, clients: CLIENTS, node: process.version };
  for (const db of dbs) {
    report[db] = {
      throughput: await phase(db, { phase: 'throughput', totalPoints: Number(values.points), pointsPerMessage: Number(values['points-per-message']), seconds: 0, ratePerWorker: 0 }),
      latency: await phase(db, { phase: 'latency', totalPoints: 0, pointsPerMessage: 2, seconds: Number(values.seconds), ratePerWorker: 20 }),
    };
  }
  console.log(JSON.stringify(report, null, 2));
}

void main().catch((e) => {
  console.error(e);
  process.exit(1);
});
