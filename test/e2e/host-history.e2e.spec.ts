// Device stats history: heartbeats are sampled into the database (second migration) and served per
// device, on SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { HostHistoryView } from '../../src/contracts/api.js';
import { SimulatedWorker } from '../../bench/simulated-worker.js';
import { testDatabases } from '../support/databases.js';
import { startSystem, TEST_WORKER_KEY, type System } from '../support/system.js';

jest.setTimeout(120_000);

const dbs = testDatabases();

describe.each(dbs)('host history on $name', ({ url }) => {
  let sys: System;
  let worker: SimulatedWorker;

  beforeAll(async () => {
    sys = await startSystem({ localWorker: false, databaseUrl: await url(), deviceSampleMs: 200 });
    worker = new SimulatedWorker({
      endpoint: sys.zmqEndpoint,
      key: TEST_WORKER_KEY,
      host: 'gpu-box',
      heartbeatMs: 0,
      devices: [0, 1].map((index) => ({ index, kind: 'cuda' as const, name: 'A100', memory_total_mb: 81_920 })),
    });
    await worker.connect();
  });

  afterAll(async () => {
    await worker?.close();
    await sys?.close();
  });

  it('stores sampled device stats and serves them per device', async () => {
    const sent: number[] = [];
    for (let i = 0; i < 16; i++) {
      const util = 10 + i * 5;
      sent.push(util);
      worker.send('heartbeat', {
        devices: [
          { index: 0, utilization_pct: util, memory_used_mb: 1000 + i, memory_total_mb: 81_920, temperature_c: 40 + i },
          { index: 1, utilization_pct: 0, memory_used_mb: 5, memory_total_mb: 81_920, temperature_c: 30 },
        ],
        cpu_pct: 50,
        mem_used_mb: 2048,
        runs: [],
      });
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 300));
    const h = await sys.api<HostHistoryView>('GET', `/api/hosts/${worker.workerId}/history?minutes=5`);
    expect(h.status).toBe(200);
    expect(Object.keys(h.body.devices).sort()).toEqual(['-1', '0', '1']);
    const gpu0 = h.body.devices['0'];
    // One sample per 200 ms out of 10 heartbeats/s: several, not all, each a value that was sent.
    expect(gpu0.at.length).toBeGreaterThanOrEqual(3);
    expect(gpu0.at.length).toBeLessThan(16);
    for (const u of gpu0.utilization_pct) expect(sent).toContain(u);
    expect([...gpu0.at].sort((a, b) => a - b)).toEqual(gpu0.at);
    expect(h.body.devices['-1'].utilization_pct.every((v) => v === 50)).toBe(true);
    const thin = await sys.api<HostHistoryView>('GET', `/api/hosts/${worker.workerId}/history?minutes=5&points=2`);
    expect(thin.body.devices['0'].at.length).toBeLessThanOrEqual(2);
    expect((await sys.api('GET', '/api/hosts/nope/history')).status).toBe(404);
  });
});
