// The GPU-aware scheduler against the real orchestrator with simulated hosts of 1, 2 and 4 GPUs
// (different memory and labels): every run lands on a host that satisfies it, no GPU holds two runs
// unless both allow sharing, runs no host can ever hold say so (`unschedulable: <reason>`), and a GPU
// freed by a finished run goes at once to the next queued run that fits.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { HostView, RunView } from '../../src/contracts/api.js';
import type { AssignContent, DeviceInfo, Message } from '../../src/contracts/wire.js';
import { SimulatedWorker } from '../../bench/simulated-worker.js';
import { testDatabases } from '../support/databases.js';
import { startSystem, TEST_WORKER_KEY, type System } from '../support/system.js';

jest.setTimeout(120_000);

const dbs = testDatabases();

function gpus(n: number, name: string, memoryMb: number): DeviceInfo[] {
  return Array.from({ length: n }, (_, index) => ({ index, kind: 'cuda' as const, name, memory_total_mb: memoryMb }));
}

const HOSTS = {
  small: { devices: gpus(1, 'RTX 4000', 16_384), labels: ['small'] },
  mid: { devices: gpus(2, 'A10', 24_576), labels: ['ampere'] },
  big: { devices: gpus(4, 'A100', 81_920), labels: ['ampere', 'nvlink'] },
};

type QueueEntry = { position: number; run: RunView; reason: string | null };

// Tiny synthetic data: nothing trains here, but the document must be valid.
const BASE = {
  data: { source: 'synthetic', synthetic: { train_size: 64, test_size: 32, image_size: 36, num_classes: 10 } },
  train: { epochs: 1 },
};

function variant(name: string, resources: Record<string, unknown>, priority = 0) {
  return { name, overrides: { resources, priority } };
}

describe.each(dbs)('scheduling on simulated GPU hosts ($name)', ({ url }) => {
  let sys: System;
  const workers = new Map<string, SimulatedWorker>();

  const connect = async (name: string, devices: DeviceInfo[], labels: string[]) => {
    const w = new SimulatedWorker({ endpoint: sys.zmqEndpoint, key: TEST_WORKER_KEY, host: name, devices, labels, cpuSlots: 0, heartbeatMs: 300 });
    await w.connect();
    workers.set(name, w);
    return w;
  };
  const waitHosts = async (names: string[]) => {
    for (let i = 0; i < 200; i++) {
      const hosts = (await sys.api<HostView[]>('GET', '/api/hosts')).body;
      if (names.every((n) => hosts.some((h) => h.name === n && h.status === 'online'))) return hosts;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`hosts ${names.join(', ')} never came online`);
  };
  const create = async (doc: Record<string, unknown>) => {
    const res = await sys.api<{ runs: RunView[] }>('POST', '/api/experiments', { ...BASE, ...doc });
    expect(res.status).toBe(201);
    return new Map(res.body.runs.map((r) => [r.name, r]));
  };
  const assignOf = async (host: string, runId: string) =>
    (await workers.get(host)!.next((m) => m.header.type === 'assign' && (m.content as AssignContent).run_id === runId, 20_000)) as Message<'assign'>;
  /** The simulated trainer starts and finishes the run. */
  const finish = (host: string, a: Message<'assign'>) => {
    const w = workers.get(host)!;
    const run = { run_id: a.content.run_id, seq: a.content.first_seq };
    w.send('started', { pid: 1, device: 'cuda', attempt: a.content.attempt, resumed_from_epoch: null, params: 1, dataset: { fingerprint: 'x', train_size: 64, test_size: 32, class_names: [], input_shape: [3, 36, 36] } }, run);
    w.send('finished', { status: 'succeeded', error: null, epochs_completed: 1 }, { run_id: run.run_id, seq: run.seq + 1 });
  };
  const queue = async () => (await sys.api<QueueEntry[]>('GET', '/api/queue')).body;
  /** Waits until the scheduler has given every queued run a reason (its pass after the last change). */
  const settledQueue = async (expected: number) => {
    for (let i = 0; i < 200; i++) {
      const q = await queue();
      if (q.length === expected && q.every((e) => e.reason)) return q;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`queue never settled at ${expected} entries: ${JSON.stringify((await queue()).map((e) => [e.run.name, e.reason]))}`);
  };
  /** No two active runs on one GPU unless every run on it allows sharing. */
  const expectNoDoubleBooking = async () => {
    const active = (await sys.api<{ items: RunView[] }>('GET', '/api/runs?status=assigned,running&limit=1000')).body.items;
    const byDevice = new Map<string, RunView[]>();
    for (const r of active) {
      for (const d of r.devices) {
        const key = `${r.host_id}:${d}`;
        byDevice.set(key, [...(byDevice.get(key) ?? []), r]);
      }
    }
    for (const [key, runs] of byDevice) {
      if (runs.length > 1) expect({ key, shared: runs.every((r) => r.spec.resources.share) }).toEqual({ key, shared: true });
    }
    return active;
  };
  /** The run's host has its labels, enough GPUs with enough memory, and the assign matches storage. */
  const expectSatisfied = (run: RunView, hosts: HostView[]) => {
    const host = hosts.find((h) => h.id === run.host_id);
    expect(host).toBeDefined();
    const need = run.spec.resources;
    for (const l of need.labels) expect(host!.labels).toContain(l);
    expect(new Set(run.devices).size).toBe(need.gpus);
    for (const d of run.devices) {
      const dev = host!.devices.find((x) => x.index === d && x.kind === 'cuda');
      expect(dev).toBeDefined();
      expect(dev!.memory_total_mb).toBeGreaterThanOrEqual(need.min_gpu_memory_mb);
    }
  };

  beforeAll(async () => {
    sys = await startSystem({ localWorker: false, heartbeatMs: 300, databaseUrl: await url() });
  });
  afterAll(async () => {
    for (const w of workers.values()) await w.close();
    await sys?.close();
  });

  it('places 1-, 2- and 4-GPU runs on hosts that satisfy them and explains the rest', async () => {
    for (const [name, h] of Object.entries(HOSTS)) await connect(name, h.devices, h.labels);
    const hosts = await waitHosts(Object.keys(HOSTS));
    const hostId = (name: string) => hosts.find((h) => h.name === name)!.id;

    const runs = await create({
      name: 'placement',
      variants: [
        variant('wide4', { gpus: 4 }, 50),
        variant('pair', { gpus: 2, min_gpu_memory_mb: 20_000 }, 40),
        variant('labelled', { gpus: 1, labels: ['small'] }, 30),
        variant('waiter', { gpus: 1, min_gpu_memory_mb: 20_000 }, 0),
        variant('too-wide', { gpus: 8 }),
        variant('no-such-label', { gpus: 1, labels: ['tpu'] }),
        variant('too-big', { gpus: 2, min_gpu_memory_mb: 100_000 }),
        variant('cpu', { gpus: 0 }),
      ],
    });
    const id = (name: string) => runs.get(name)!.id;

    // The only placements that satisfy each run, given priorities: 4 GPUs exist only on big; then
    // >= 20 GB pairs only on mid; the 'small' label only on small.
    const wide = await assignOf('big', id('wide4'));
    expect(wide.content.devices).toEqual([0, 1, 2, 3]);
    const pair = await assignOf('mid', id('pair'));
    expect(pair.content.devices).toEqual([0, 1]);
    const labelled = await assignOf('small', id('labelled'));
    expect(labelled.content.devices).toEqual([0]);
    expect(wide.content.spec.resources.gpus).toBe(4);

    const q = await settledQueue(5);
    const reason = (name: string) => q.find((e) => e.run.name === name)?.reason;
    expect(reason('waiter')).toBe('waiting for a free GPU with >= 20000 MB; position 1');
    expect(reason('too-wide')).toBe('unschedulable: needs 8 GPUs; largest host offers 4');
    expect(reason('no-such-label')).toBe('unschedulable: needs 1 GPU with labels [tpu]; no online host has labels [tpu]');
    expect(reason('too-big')).toBe('unschedulable: needs 2 GPUs with >= 100000 MB; largest host offers 0');
    expect(reason('cpu')).toBe('unschedulable: needs a CPU slot; no online host offers CPU slots');
    // Waiting runs come first in line; unschedulable ones are listed with their reason.
    expect(q[0].run.name).toBe('waiter');
    for (const name of ['too-wide', 'no-such-label', 'too-big', 'cpu']) {
      const one = (await sys.api<RunView>('GET', `/api/runs/${id(name)}`)).body;
      expect(one.status).toBe('queued');
      expect(one.reason).toBe(reason(name));
      expect(one.reason).toMatch(/^unschedulable: /);
    }

    const active = await expectNoDoubleBooking();
    expect(active.map((r) => r.name).sort()).toEqual(['labelled', 'pair', 'wide4']);
    for (const r of active) expectSatisfied(r, hosts);
    expect(Object.fromEntries(active.map((r) => [r.name, r.host_id]))).toEqual({ wide4: hostId('big'), pair: hostId('mid'), labelled: hostId('small') });
    // The hosts view shows who sits where.
    const view = (await sys.api<HostView[]>('GET', '/api/hosts')).body;
    expect(view.find((h) => h.name === 'big')!.devices.map((d) => d.run_ids)).toEqual([[id('wide4')], [id('wide4')], [id('wide4')], [id('wide4')]]);

    // The mid host's run finishes: its GPUs free up and the waiter takes one at once.
    finish('mid', pair);
    await sys.waitForRun(id('pair'), (r) => r.status === 'succeeded', 20_000);
    const next = await assignOf('mid', id('waiter'));
    expect(next.content.devices).toHaveLength(1);
    expect([0, 1]).toContain(next.content.devices[0]);
    const waiter = await sys.waitForRun(id('waiter'), (r) => r.status === 'assigned', 20_000);
    expect(waiter.host_id).toBe(hostId('mid'));
    expect(waiter.reason).toBe('assigned to mid');
    expectSatisfied(waiter, hosts);
    await expectNoDoubleBooking();
    // The unschedulable runs still wait with their reasons; nothing else is placed.
    expect((await settledQueue(4)).map((e) => e.run.name).sort()).toEqual(['cpu', 'no-such-label', 'too-big', 'too-wide']);

    // Clear the board for the next test: finish what runs, cancel what waits.
    finish('big', wide);
    finish('small', labelled);
    finish('mid', next);
    for (const name of ['too-wide', 'no-such-label', 'too-big', 'cpu']) expect((await sys.api('POST', `/api/runs/${id(name)}/cancel`)).status).toBe(200);
    for (const name of ['wide4', 'labelled', 'waiter']) await sys.waitForRun(id(name), (r) => r.status === 'succeeded', 20_000);
  });

  it('lets runs that allow sharing share a GPU, and only with each other', async () => {
    await connect('pool', gpus(1, 'L4', 24_576), ['pool']);
    await waitHosts(['pool']);
    const only = { gpus: 1, labels: ['pool'] };
    // Separate experiments, so the second placement happens in a later scheduling pass and has to
    // read the device's sharing state from the host registry.
    const s1 = (await create({ name: 'share-1', resources: { ...only, share: true } })).get('share-1')!;
    const a1 = await assignOf('pool', s1.id);
    await sys.waitForRun(s1.id, (r) => r.status === 'assigned', 20_000);
    const s2 = (await create({ name: 'share-2', resources: { ...only, share: true } })).get('share-2')!;
    const a2 = await assignOf('pool', s2.id);
    expect(a1.content.devices).toEqual([0]);
    expect(a2.content.devices).toEqual([0]);
    await expectNoDoubleBooking();
    const pool = (await sys.api<HostView[]>('GET', '/api/hosts')).body.find((h) => h.name === 'pool')!;
    expect(pool.devices[0].run_ids.sort()).toEqual([s1.id, s2.id].sort());

    // A run that does not allow sharing waits for the device to empty, then gets it alone.
    const ex = (await create({ name: 'exclusive', resources: { ...only, share: false } })).get('exclusive')!;
    expect((await settledQueue(1))[0].reason).toBe('waiting for a free GPU with labels [pool]; position 1');
    finish('pool', a1);
    await sys.waitForRun(s1.id, (r) => r.status === 'succeeded', 20_000);
    // One sharer is still there: the exclusive run keeps waiting.
    expect((await sys.api<RunView>('GET', `/api/runs/${ex.id}`)).body.status).toBe('queued');
    finish('pool', a2);
    const ax = await assignOf('pool', ex.id);
    expect(ax.content.devices).toEqual([0]);

    // And a sharing run does not join a device held by a run that does not share.
    const s3 = (await create({ name: 'share-3', resources: { ...only, share: true } })).get('share-3')!;
    expect((await settledQueue(1))[0].run.id).toBe(s3.id);
    expect((await sys.api<RunView>('GET', `/api/runs/${s3.id}`)).body.reason).toBe('waiting for a free GPU with labels [pool]; position 1');
    await expectNoDoubleBooking();
    finish('pool', ax);
    const a3 = await assignOf('pool', s3.id);
    expect(a3.content.devices).toEqual([0]);
  });
  it('puts a run lost with its host back in its old place in the queue, ahead of runs queued after it', async () => {
    const keep = { gpus: 1, labels: ['keep'] };
    await connect('keep-a', gpus(1, 'T4', 16_384), ['keep']);
    await connect('keep-b', gpus(1, 'T4', 16_384), ['keep']);
    const first = (await create({ name: 'first', resources: keep })).get('first')!;
    const second = (await create({ name: 'second', resources: keep })).get('second')!;
    const hosts = await waitHosts(['keep-a', 'keep-b']);
    /** [host name, its assign message] for a run placed on either host. */
    const placed = async (runId: string) => {
      const r = await sys.waitForRun(runId, (x) => x.status === 'assigned', 20_000);
      const name = hosts.find((h) => h.id === r.host_id)!.name;
      return [name, await assignOf(name, runId)] as const;
    };
    const aFirst = await placed(first.id);
    const aSecond = await placed(second.id);
    expect(aFirst[0]).not.toBe(aSecond[0]);
    const late = (await create({ name: 'late', resources: keep })).get('late')!;
    expect((await settledQueue(1))[0].run.id).toBe(late.id);

    // The host running 'first' goes silent: the run is lost and requeued (restart 1 of 2), and takes
    // position 1 again because it was queued before 'late'.
    await workers.get(aFirst[0])!.close();
    const requeued = await sys.waitForRun(first.id, (r) => r.status === 'queued' && r.attempt === 1, 20_000);
    expect(requeued.reason).toBe('waiting for a free GPU with labels [keep]; position 1');
    expect((await settledQueue(2)).map((e) => e.run.name)).toEqual(['first', 'late']);

    // The other host frees its GPU: it goes to the requeued run, not to the one that came later.
    finish(aSecond[0], aSecond[1]);
    const again = await assignOf(aSecond[0], first.id);
    expect(again.content.attempt).toBe(2);
    expect((await settledQueue(1))[0].run.id).toBe(late.id);
    finish(aSecond[0], again);
    const last = await assignOf(aSecond[0], late.id);
    finish(aSecond[0], last);
    await sys.waitForRun(late.id, (r) => r.status === 'succeeded', 20_000);
  });
});
