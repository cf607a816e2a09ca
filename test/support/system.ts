// Boots the real orchestrator in-process for e2e tests: a fresh SQLite file (or a PostgreSQL URL),
// an HTTP server and a ZeroMQ ROUTER on free ports, and optionally the real Python worker agent.
import type { NestExpressApplication } from '@nestjs/platform-express';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import type { AppConfig } from '../../src/config/app-config.js';
import { loadConfig } from '../../src/config/app-config.js';
import type { ClientToServerEvents, RunView, ServerToClientEvents } from '../../src/contracts/api.js';
import { createApp } from '../../src/main.js';

export const TEST_WORKER_KEY = 'e2e-test-worker-key-0123456789abcdef';

export interface System {
  app: NestExpressApplication;
  config: AppConfig;
  url: string;
  zmqEndpoint: string;
  varDir: string;
  api<T = unknown>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: T }>;
  socket(): Promise<Socket<ServerToClientEvents, ClientToServerEvents>>;
  waitForRun(id: string, pred: (r: RunView) => boolean, timeoutMs?: number): Promise<RunView>;
  close(): Promise<void>;
}

export interface SystemOptions {
  databaseUrl?: string;
  localWorker?: boolean;
  cpuSlots?: number;
  heartbeatMs?: number;
  /** Reuse a var dir (restart tests); a fresh temp dir otherwise. */
  varDir?: string;
  sqlitePath?: string;
  zmqBind?: string;
  assignTimeoutMs?: number;
  deviceSampleMs?: number;
  ingestCachedRuns?: number;
}

export async function startSystem(opts: SystemOptions = {}): Promise<System> {
  const varDir = opts.varDir ?? mkdtempSync(join(tmpdir(), 'trainyard-e2e-'));
  const config = loadConfig(
    {},
    {
      host: '127.0.0.1',
      port: 0,
      zmqBind: opts.zmqBind ?? 'tcp://127.0.0.1:*',
      sqlitePath: opts.sqlitePath ?? join(varDir, 'trainyard.sqlite'),
      databaseUrl: opts.databaseUrl,
      workerKey: TEST_WORKER_KEY,
      varDir,
      localWorker: opts.localWorker ?? true,
      localCpuSlots: opts.cpuSlots ?? 1,
      heartbeatMs: opts.heartbeatMs ?? 500,
      liveness: 3,
      logLevel: (process.env.TRAINYARD_TEST_LOG as AppConfig['logLevel']) ?? 'warn',
      liveThrottleMs: 50,
      assignTimeoutMs: opts.assignTimeoutMs ?? 30000,
      deviceSampleMs: opts.deviceSampleMs ?? 10000,
      ingestCachedRuns: opts.ingestCachedRuns ?? 10000,
    },
  );
  const app = await createApp(config);
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const sockets: Socket[] = [];
  const system: System = {
    app,
    config,
    url,
    zmqEndpoint: config.zmqConnectEndpoint,
    varDir,
    async api(method, path, body, headers = {}) {
      const res = await fetch(url + path, {
        method,
        headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        /* not JSON */
      }
      return { status: res.status, body: parsed as never };
    },
    async socket() {
      const s = io(url, { transports: ['websocket'], forceNew: true });
      sockets.push(s);
      await new Promise<void>((resolve, reject) => {
        s.once('connect', () => resolve());
        s.once('connect_error', reject);
      });
      return s;
    },
    async waitForRun(id, pred, timeoutMs = 240_000) {
      const deadline = Date.now() + timeoutMs;
      let last: RunView | null = null;
      while (Date.now() < deadline) {
        const r = await system.api<RunView>('GET', `/api/runs/${id}`);
        last = r.body;
        if (r.status === 200 && pred(r.body)) return r.body;
        await new Promise((res) => setTimeout(res, 250));
      }
      throw new Error(`run ${id} did not reach the expected state; last: ${JSON.stringify(last && { status: last.status, reason: last.reason })}`);
    },
    async close() {
      for (const s of sockets) s.close();
      await app.close();
      if (!opts.varDir) rmSync(varDir, { recursive: true, force: true });
    },
  };
  return system;
}

/** A small, fast experiment on real Fashion-MNIST: ResNet18 at 36x36 on a few hundred images. */
export function tinyExperiment(name: string, overrides: Record<string, unknown> = {}) {
  return {
    name,
    data: { source: 'fashion-mnist', train_subset: 256, test_subset: 128, pad_to: 36, channels: 3 },
    train: { epochs: 1, batch_size: 64, seed: 1 },
    ...overrides,
  };
}
