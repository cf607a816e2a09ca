// The orchestrator as `npm start` runs it: the compiled entry point in its own process, with the local
// worker. Ctrl-C must stop everything (no orphan processes, database closed cleanly), and the
// non-interactive study mode must run the seed study to the end and print the results table.
import { afterAll, describe, expect, it, jest } from '@jest/globals';
import Database from 'better-sqlite3';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostView, RunView } from '../../src/contracts/api.js';
import { REPO_ROOT } from '../../src/config/app-config.js';
import { freePorts } from '../support/ports.js';

jest.setTimeout(900_000);

const MAIN = join(REPO_ROOT, 'dist', 'src', 'main.js');
const dirs: string[] = [];

async function launch(args: string[], reuseVarDir?: string) {
  if (!existsSync(MAIN)) throw new Error('dist/src/main.js missing: run npm run build:server (npm test does)');
  const [http, zmq] = await freePorts(2);
  const varDir = reuseVarDir ?? mkdtempSync(join(tmpdir(), 'trainyard-main-'));
  dirs.push(varDir);
  const child = spawn(process.execPath, [MAIN, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, TRAINYARD_PORT: String(http), TRAINYARD_ZMQ_BIND: `tcp://127.0.0.1:${zmq}`, TRAINYARD_VAR: varDir, TRAINYARD_SQLITE: join(varDir, 'db.sqlite'), TRAINYARD_HEARTBEAT_MS: '500' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, url: `http://127.0.0.1:${http}`, varDir, exited, output: () => output };
}

/** Every process below `pid` (from /proc), to prove none outlives a stop. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch {
      /* exited meanwhile */
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
};

async function getJson<T>(url: string): Promise<T> {
  return (await (await fetch(url)).json()) as T;
}

async function until<T>(f: () => Promise<T | undefined | false>, what: string, ms = 180_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const v = await f();
      if (v) return v;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('the orchestrator process', () => {
  it('stops worker and trainer on SIGINT without orphans, and resumes the interrupted run at the next start', async () => {
    const p = await launch([]);
    let procs: number[] = [];
    let runId = '';
    try {
      await until(async () => (await getJson<HostView[]>(`${p.url}/api/hosts`)).some((h) => h.status === 'online'), 'the local worker');
      const res = await fetch(`${p.url}/api/experiments`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'stop me', data: { source: 'fashion-mnist', train_subset: 20000, test_subset: 128 }, train: { epochs: 50 } }),
      });
      runId = ((await res.json()) as { runs: RunView[] }).runs[0].id;
      await until(async () => ((await getJson<RunView>(`${p.url}/api/runs/${runId}`)).progress?.step ?? 0) >= 2, 'the run to train a few steps');
      procs = descendants(p.child.pid!);
      // The agent and the trainer (plus its launcher) at least.
      expect(procs.length).toBeGreaterThanOrEqual(2);
      p.child.kill('SIGINT');
      const code = await p.exited;
      expect([0, 130, null]).toContain(code);
      await until(async () => procs.every((pid) => !alive(pid)), 'no process left', 30_000);
      expect(p.output()).toContain('stopped cleanly');
      // The database was closed cleanly: it opens and passes an integrity check. The run is lost (not
      // cancelled), with the final checkpoint its trainer wrote while stopping.
      const db = new Database(join(p.varDir, 'db.sqlite'), { readonly: true });
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      const row = db.prepare('SELECT status, reason, checkpoint_path FROM runs WHERE id = ?').get(runId) as { status: string; reason: string; checkpoint_path: string | null };
      db.close();
      expect(row.status).toBe('lost');
      expect(row.reason).toMatch(/resumes from its last checkpoint/);
      expect(row.checkpoint_path).toBeTruthy();
    } finally {
      if (p.child.exitCode === null) p.child.kill('SIGKILL');
      for (const pid of procs) if (alive(pid)) process.kill(pid, 'SIGKILL');
    }

    // Next start: the run is queued again and its trainer resumes from the checkpoint.
    const again = await launch([], p.varDir);
    try {
      const logs = await until(async () => {
        const l = await getJson<{ items: { message: string }[] }>(`${again.url}/api/runs/${runId}/logs`);
        return l.items.find((i) => /resumed from/.test(i.message));
      }, 'the resumed trainer', 240_000);
      expect(logs.message).toMatch(/resumed from .*after epoch 0/);
      const run = await getJson<RunView>(`${again.url}/api/runs/${runId}`);
      expect(run.status).toBe('running');
      expect(run.attempt).toBe(2);
    } finally {
      again.child.kill('SIGTERM');
      await again.exited;
    }
  });

  it('runs the seed study non-interactively and prints the results table', async () => {
    const p = await launch(['--study', 'seed', '--profile', 'smoke', '--exit-when-done']);
    const code = await p.exited;
    const out = p.output();
    expect(code).toBe(0);
    expect(out).toContain('Trainyard dashboard: http://127.0.0.1:');
    const table = out.slice(out.indexOf('run  '));
    expect(table).toMatch(/^run\s+status\s+epochs\s+train loss\s+train acc\s+test acc\s+macro F1\s+s\/epoch\s+images\/s/);
    for (const name of ['scratch', 'scratch_224', 'modified_scratch_1', 'modified_scratch_2', 'modified_scratch_3']) {
      expect(table).toMatch(new RegExp(`\\n${name}\\s+succeeded\\s+1\\s+\\d`));
    }
    // No ImageNet weights on this machine: the pretrained variants are skipped with the reason.
    for (const name of ['pretrained', 'pretrained_224', 'modified_pretrained_1', 'modified_pretrained_2', 'modified_pretrained_3']) {
      expect(table).toMatch(new RegExp(`\\n${name}\\s+(skipped|succeeded)`));
    }
    if (/\npretrained\s+skipped/.test(table)) expect(out).toMatch(/skipped pretrained: pretrained weights not available offline/);
  });
});
