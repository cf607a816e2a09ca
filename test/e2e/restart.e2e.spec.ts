// Restarts of either side in the middle of a run. Orchestrator: a real agent
// keeps training and spooling while the orchestrator is down, reconnects, says hello with its running
// run, and replays what was not acknowledged; the new orchestrator (same database, same port) stores
// each message once and the run finishes normally. Agent: killed hard, its trainer dies with it; the
// restarted agent reports the run interrupted, and the run resumes from its last checkpoint.
import { afterAll, describe, expect, it, jest } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EvaluationView, HostView, RunMetricsView, RunView } from '../../src/contracts/api.js';
import { REPO_ROOT } from '../../src/config/app-config.js';
import { freePort } from '../support/ports.js';
import { startSystem, TEST_WORKER_KEY, tinyExperiment, type System } from '../support/system.js';

jest.setTimeout(600_000);

const varDir = mkdtempSync(join(tmpdir(), 'trainyard-restart-'));
afterAll(() => rmSync(varDir, { recursive: true, force: true }));

/**
 * A real worker agent process against the orchestrator's port, keeping its state in `stateDir`. Its
 * log is collected (a pipe nobody reads would eventually block the agent) for failure messages.
 */
function startAgent(zmqPort: number, stateDir: string) {
  const child = spawn('/usr/bin/python3', ['-m', 'trainyard_worker', '--connect', `tcp://127.0.0.1:${zmqPort}`, '--state-dir', stateDir, '--cpu-slots', '1', '--heartbeat-ms', '500', '--liveness', '3'], {
    cwd: REPO_ROOT,
    env: { ...process.env, PYTHONPATH: join(REPO_ROOT, 'python-bridge'), TRAINYARD_WORKER_KEY: TEST_WORKER_KEY },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (d) => (log = (log + d).slice(-20_000)));
  return Object.assign(child, { logTail: () => log.slice(-3000) });
}

async function waitHostOnline(sys: System) {
  for (let i = 0; i < 600; i++) {
    if ((await sys.api<HostView[]>('GET', '/api/hosts')).body.some((h) => h.status === 'online')) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('agent never came online');
}

describe('restarts during a run', () => {
  it('resumes the conversation with the agent and stores every message exactly once', async () => {
    const zmqPort = await freePort();
    const opts = { localWorker: false, varDir, sqlitePath: join(varDir, 'db.sqlite'), zmqBind: `tcp://127.0.0.1:${zmqPort}`, heartbeatMs: 500 };
    let sys = await startSystem(opts);
    const agent = startAgent(zmqPort, join(varDir, 'worker'));
    try {
      await waitHostOnline(sys);
      const created = await sys.api<{ runs: RunView[] }>('POST', '/api/experiments', tinyExperiment('survives restarts', { data: { source: 'fashion-mnist', train_subset: 640, test_subset: 128, pad_to: 36 }, train: { epochs: 2, batch_size: 64, seed: 3 } }));
      const id = created.body.runs[0].id;
      // Down in the middle of epoch 1, up again a few seconds later.
      await sys.waitForRun(id, (r) => r.status === 'running' && (r.progress?.step ?? 0) >= 2, 180_000);
      const before = (await sys.api<RunMetricsView>('GET', `/api/runs/${id}/metrics`)).body.last_seq;
      await sys.close();
      await new Promise((r) => setTimeout(r, 4000));
      sys = await startSystem(opts);
      await waitHostOnline(sys);
      const done = await sys.waitForRun(id, (r) => ['succeeded', 'failed', 'cancelled', 'lost'].includes(r.status), 300_000);
      expect(done.status).toBe('succeeded');
      expect(done.attempt).toBe(1);

      const m = (await sys.api<RunMetricsView>('GET', `/api/runs/${id}/metrics`)).body;
      expect(m.last_seq).toBeGreaterThan(before);
      // Every epoch's end-of-epoch values are there exactly once.
      for (const key of ['train_loss', 'test_acc', 'epoch_seconds']) expect(new Set(m.series[key].epoch)).toEqual(new Set([1, 2]));
      expect(m.series.test_acc.epoch).toEqual([1, 2]);
      const evals = (await sys.api<EvaluationView[]>('GET', `/api/runs/${id}/evaluations`)).body;
      expect(evals.map((e) => e.epoch)).toEqual([1, 2]);
      for (const e of evals) expect(e.matrix.flat().reduce((a, b) => a + b, 0)).toBe(128);
      // The history has no duplicated (key, step) and the stored seqs have no gap.
      const hist = await (await fetch(`${sys.url}/api/export/runs/${id}/history.json`)).json() as { key: string; step: number }[];
      const keys = hist.map((p) => `${p.key}@${p.step}`);
      expect(new Set(keys).size).toBe(keys.length);
      const transitions = (await sys.api<{ to: string }[]>('GET', `/api/runs/${id}/transitions`)).body.map((t) => t.to);
      expect(transitions).toEqual(['queued', 'assigned', 'running', 'succeeded']);
    } catch (e) {
      throw new Error(`${(e as Error).message}\nagent log tail:\n${agent.logTail()}`);
    } finally {
      agent.kill('SIGTERM');
      await new Promise((r) => agent.once('exit', r));
      await sys.close();
    }
  });

  it('resumes a run from its last checkpoint when the worker agent is killed and restarts', async () => {
    const zmqPort = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'trainyard-agentkill-'));
    const sys = await startSystem({ localWorker: false, varDir: dir, sqlitePath: join(dir, 'db.sqlite'), zmqBind: `tcp://127.0.0.1:${zmqPort}`, heartbeatMs: 500 });
    let agent = startAgent(zmqPort, join(dir, 'worker'));
    try {
      await waitHostOnline(sys);
      const created = await sys.api<{ runs: RunView[] }>('POST', '/api/experiments', tinyExperiment('agent dies', { data: { source: 'fashion-mnist', train_subset: 1280, test_subset: 128, pad_to: 36 }, train: { epochs: 3, batch_size: 64, seed: 5 } }));
      const id = created.body.runs[0].id;
      // Wait for the epoch-1 checkpoint, then kill the agent hard (its trainer dies with it).
      for (let i = 0; ; i++) {
        const cps = (await sys.api<{ epoch: number }[]>('GET', `/api/runs/${id}/checkpoints`)).body;
        if (cps.some((c) => c.epoch >= 1)) break;
        if (i > 1200) throw new Error('no checkpoint');
        await new Promise((r) => setTimeout(r, 100));
      }
      agent.kill('SIGKILL');
      await new Promise((r) => agent.once('exit', r));
      agent = startAgent(zmqPort, join(dir, 'worker'));
      const done = await sys.waitForRun(id, (r) => ['succeeded', 'failed', 'cancelled'].includes(r.status), 300_000);
      expect(done.status).toBe('succeeded');
      expect(done.attempt).toBe(2);
      const transitions = (await sys.api<{ to: string }[]>('GET', `/api/runs/${id}/transitions`)).body.map((t) => t.to);
      expect(transitions).toEqual(['queued', 'assigned', 'running', 'lost', 'queued', 'assigned', 'running', 'succeeded']);
      const logs = (await sys.api<{ items: { message: string }[] }>('GET', `/api/runs/${id}/logs`)).body.items.map((l) => l.message);
      expect(logs.some((m) => /resumed from .*after epoch [12]/.test(m))).toBe(true);
      const evals = (await sys.api<EvaluationView[]>('GET', `/api/runs/${id}/evaluations`)).body;
      expect([...new Set(evals.map((e) => e.epoch))]).toEqual([1, 2, 3]);
      expect(done.epochs_completed).toBe(3);
    } finally {
      agent.kill('SIGTERM');
      await new Promise((r) => (agent.exitCode !== null ? r(null) : agent.once('exit', r)));
      await sys.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
