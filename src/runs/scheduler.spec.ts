import { describe, expect, it } from '@jest/globals';
import type { ResourceSpec } from '../contracts/spec.js';
import { mulberry32 } from '../experiments/prng.js';
import { schedule, type HostCapacity, type QueuedRun } from './scheduler.js';

function run(id: string, resources: Partial<ResourceSpec> = {}, priority = 0, queued_at = 0): QueuedRun {
  return { id, priority, queued_at, resources: { gpus: 1, min_gpu_memory_mb: 0, labels: [], share: false, ...resources } };
}

function host(id: string, gpus: number, opts: { memory?: number; labels?: string[]; busy?: Record<number, string[]>; shared?: number[]; cpu?: number; cpuBusy?: string[]; online?: boolean } = {}): HostCapacity {
  return {
    host_id: id,
    labels: opts.labels ?? [],
    online: opts.online ?? true,
    devices: Array.from({ length: gpus }, (_, i) => ({
      index: i,
      kind: 'cuda' as const,
      memory_total_mb: opts.memory ?? 24000,
      run_ids: opts.busy?.[i] ?? [],
      shared_ok: opts.shared?.includes(i) ?? false,
    })),
    cpu_slots: opts.cpu ?? 0,
    cpu_run_ids: opts.cpuBusy ?? [],
  };
}

const placed = (r: ReturnType<typeof schedule>) => Object.fromEntries(r.placements.map((p) => [p.run_id, `${p.host_id}:${p.devices.join(',')}`]));

describe('schedule', () => {
  it('orders by priority, then FIFO, then id', () => {
    const r = schedule([run('late', {}, 0, 5), run('high', {}, 10, 9), run('b', {}, 0, 1), run('a', {}, 0, 1)], [host('h', 2)]);
    expect(r.placements.map((p) => p.run_id)).toEqual(['high', 'a']);
    expect(r.waiting.map((w) => [w.run_id, w.position])).toEqual([
      ['b', 1],
      ['late', 2],
    ]);
  });

  it('puts gpus=0 runs on CPU slots, spreading over hosts', () => {
    const r = schedule([run('c1', { gpus: 0 }), run('c2', { gpus: 0 }), run('c3', { gpus: 0 }), run('c4', { gpus: 0 })], [
      host('a', 0, { cpu: 2, cpuBusy: ['x'] }),
      host('b', 0, { cpu: 2 }),
    ]);
    expect(placed(r)).toEqual({ c1: 'b:-1', c2: 'a:-1', c3: 'b:-1' });
    expect(r.waiting).toEqual([{ run_id: 'c4', position: 1, reason: 'waiting for a free CPU slot; position 1', unschedulable: false }]);
  });

  it('places a multi-GPU run on one host only', () => {
    const r = schedule([run('wide', { gpus: 4 })], [host('a', 4, { busy: { 0: ['x'] } }), host('b', 4, { busy: { 3: ['y'] } })]);
    expect(r.placements).toEqual([]);
    expect(r.waiting[0]).toMatchObject({ unschedulable: false, reason: 'waiting for 4 free GPUs on one host; 3 free GPUs on a held for it; position 1' });
    // Reasons name the host by its name when the snapshot has one.
    const named = schedule([run('wide', { gpus: 4 })], [{ ...host('a', 4, { busy: { 0: ['x'] } }), name: 'gpu-box-1' }, host('b', 4, { busy: { 3: ['y'] } })]);
    expect(named.waiting[0].reason).toBe('waiting for 4 free GPUs on one host; 3 free GPUs on gpu-box-1 held for it; position 1');
    const ok = schedule([run('wide', { gpus: 4 })], [host('a', 4, { busy: { 0: ['x'] } }), host('b', 4)]);
    expect(placed(ok)).toEqual({ wide: 'b:0,1,2,3' });
  });

  it('respects minimum memory and labels', () => {
    const hosts = [host('small', 8, { memory: 16000, labels: ['a100'] }), host('big', 2, { memory: 80000, labels: ['h100'] }), host('big2', 2, { memory: 80000, labels: ['a100', 'nvlink'] })];
    const r = schedule([run('mem', { min_gpu_memory_mb: 40000, labels: ['a100'] }, 0, 0), run('lab', { labels: ['h100'] }, 0, 1), run('both', { labels: ['a100', 'nvlink'], gpus: 2 }, 0, 2)], hosts);
    expect(placed(r)).toEqual({ mem: 'big2:0', lab: 'big:0' });
    expect(r.waiting).toEqual([
      { run_id: 'both', position: 1, reason: 'waiting for 2 free GPUs on one host with labels [a100, nvlink]; 1 free GPU on big2 held for it; position 1', unschedulable: false },
    ]);
  });

  it('calls a run unschedulable when no online host could ever hold it, and says why', () => {
    const hosts = [host('a', 2, { memory: 80000, labels: ['a100'] }), host('b', 8, { memory: 24000, labels: ['a100'] }), host('off', 8, { memory: 80000, labels: ['a100'], online: false })];
    const r = schedule(
      [run('four', { gpus: 4, min_gpu_memory_mb: 80000, labels: ['a100'] }), run('tpu', { labels: ['tpu'] }), run('cpu', { gpus: 0 }), run('bad', { gpus: -1 }), run('fine', {})],
      hosts,
    );
    const byId = Object.fromEntries(r.waiting.map((w) => [w.run_id, w]));
    expect(byId.four).toEqual({ run_id: 'four', position: 0, unschedulable: true, reason: 'needs 4 GPUs with >= 80000 MB and labels [a100]; largest host offers 2' });
    expect(byId.tpu.reason).toBe('needs 1 GPU with labels [tpu]; no online host has labels [tpu]');
    expect(byId.cpu.reason).toBe('needs a CPU slot; no online host offers CPU slots');
    expect(byId.bad).toMatchObject({ unschedulable: true, reason: expect.stringMatching(/invalid resources/) });
    expect(placed(r)).toEqual({ fine: 'a:0' });
    expect(schedule([run('x')], [])).toMatchObject({ waiting: [{ unschedulable: true, reason: 'needs 1 GPU; no host is online' }] });
  });

  it('tells waiting runs their place in line', () => {
    const r = schedule([run('r1'), run('r2', {}, 0, 1), run('r3', {}, 0, 2), run('never', { gpus: 9 }, 5)], [host('h', 1, { busy: { 0: ['x'] } })]);
    expect(r.waiting.map((w) => [w.run_id, w.position, w.reason])).toEqual([
      ['never', 0, 'needs 9 GPUs; largest host offers 1'],
      ['r1', 1, 'waiting for a free GPU; position 1'],
      ['r2', 2, 'waiting for a free GPU; position 2'],
      ['r3', 3, 'waiting for a free GPU; position 3'],
    ]);
  });

  it('never puts two runs on one device unless both allow sharing', () => {
    const busy = host('h', 1, { busy: { 0: ['x'] } });
    expect(schedule([run('s', { share: true })], [busy]).placements).toEqual([]);
    const sharing = host('h', 1, { busy: { 0: ['x'] }, shared: [0] });
    expect(schedule([run('n')], [sharing]).placements).toEqual([]);
    expect(placed(schedule([run('s', { share: true })], [sharing]))).toEqual({ s: 'h:0' });
    // Two sharing runs on an empty device; a third exceeds the default of 2 per device.
    const r = schedule([run('s1', { share: true }), run('s2', { share: true }, 0, 1), run('s3', { share: true }, 0, 2)], [host('h', 1)]);
    expect(placed(r)).toEqual({ s1: 'h:0', s2: 'h:0' });
    expect(placed(schedule([run('s1', { share: true }), run('s2', { share: true }, 0, 1), run('s3', { share: true }, 0, 2)], [host('h', 1)], { maxRunsPerSharedDevice: 3 }))).toEqual({
      s1: 'h:0',
      s2: 'h:0',
      s3: 'h:0',
    });
    // A non-sharing run after a sharing one cannot join it.
    expect(placed(schedule([run('s1', { share: true }), run('n', {}, 0, 1)], [host('h', 1)]))).toEqual({ s1: 'h:0' });
  });

  it('uses empty devices before sharing', () => {
    const r = schedule([run('s1', { share: true }), run('s2', { share: true }, 0, 1)], [host('h', 2)]);
    expect(placed(r)).toEqual({ s1: 'h:0', s2: 'h:1' });
  });

  it('fits small runs where they leave whole hosts free (best fit)', () => {
    const r = schedule([run('one')], [host('empty', 8), host('mostly', 8, { busy: { 0: ['a'], 1: ['b'], 2: ['c'], 3: ['d'], 4: ['e'], 5: ['f'] } })]);
    expect(placed(r)).toEqual({ one: 'mostly:6' });
  });

  it('holds a host for a blocked wide run instead of letting small runs starve it', () => {
    const hosts = [host('a', 8, { busy: { 0: ['x'], 1: ['y'] } }), host('b', 8, { busy: { 0: ['p'], 1: ['q'], 2: ['r'], 3: ['s'], 4: ['t'], 5: ['u'] } })];
    const queue = [run('eight', { gpus: 8 }, 10), run('s1', {}, 0, 1), run('s2', {}, 0, 2), run('s3', {}, 0, 3)];
    const held = schedule(queue, hosts);
    expect(held.reservations).toEqual([{ run_id: 'eight', host_id: 'a', devices: [2, 3, 4, 5, 6, 7] }]);
    expect(placed(held)).toEqual({ s1: 'b:6', s2: 'b:7' });
    expect(held.waiting.find((w) => w.run_id === 's3')?.reason).toBe('waiting for a free GPU; position 2');
    // Pure backfill (no reservations) lets the third small run take a's devices.
    expect(placed(schedule(queue, hosts, { maxReservations: 0 }))).toEqual({ s1: 'b:6', s2: 'b:7', s3: 'a:2' });
  });

  it('lets lower runs backfill when a higher one cannot fit anywhere now', () => {
    const r = schedule([run('wide', { gpus: 2 }, 5), run('small', {}, 0)], [host('a', 1), host('b', 2, { busy: { 0: ['x'] } })]);
    // wide holds b's free device; small takes a.
    expect(placed(r)).toEqual({ small: 'a:0' });
  });

  it('ignores offline hosts, CPU device entries and duplicate queue entries', () => {
    const cpuDev: HostCapacity = { ...host('h', 1), devices: [{ index: -1, kind: 'cpu', memory_total_mb: 64000, run_ids: [] }, ...host('h', 1).devices] };
    const r = schedule([run('a'), run('a'), run('b', {}, 0, 1)], [cpuDev, host('off', 4, { online: false })]);
    expect(r.placements).toEqual([{ run_id: 'a', host_id: 'h', devices: [0] }]);
    expect(r.waiting.map((w) => w.run_id)).toEqual(['b']);
  });

  it('is deterministic whatever the input order', () => {
    const rng = mulberry32(11);
    const queue = Array.from({ length: 60 }, (_, i) => run(`r${i}`, { gpus: [0, 1, 2, 4][i % 4] }, i % 3, Math.floor(i / 7)));
    const hosts = Array.from({ length: 6 }, (_, i) => host(`h${i}`, 4, { cpu: 2 }));
    const shuffle = <T>(xs: T[]): T[] => xs.map((x) => [rng(), x] as const).sort((a, b) => a[0] - b[0]).map(([, x]) => x);
    const a = schedule(queue, hosts);
    const b = schedule(shuffle(queue), shuffle(hosts));
    expect(b).toEqual(a);
  });

  it('keeps its invariants on random clusters and queues', () => {
    const rng = mulberry32(2024);
    const pick = <T>(xs: T[]): T => xs[Math.floor(rng() * xs.length)];
    for (let trial = 0; trial < 40; trial++) {
      const hosts: HostCapacity[] = Array.from({ length: 1 + Math.floor(rng() * 8) }, (_, h) => {
        const n = pick([0, 1, 2, 4, 8]);
        const busy: Record<number, string[]> = {};
        const shared: number[] = [];
        for (let d = 0; d < n; d++) {
          if (rng() < 0.4) busy[d] = [`old-${h}-${d}`];
          if (busy[d] && rng() < 0.3) shared.push(d);
        }
        return host(`h${h}`, n, { memory: pick([16000, 40000, 80000]), labels: rng() < 0.5 ? ['a100'] : [], busy, shared, cpu: pick([0, 1, 2]), online: rng() < 0.9 });
      });
      const queue = Array.from({ length: 1 + Math.floor(rng() * 40) }, (_, i) =>
        run(`q${i}`, { gpus: pick([0, 1, 1, 2, 4, 8]), min_gpu_memory_mb: pick([0, 0, 40000]), labels: rng() < 0.2 ? ['a100'] : [], share: rng() < 0.3 }, pick([0, 0, 1, 5]), Math.floor(rng() * 10)),
      );
      const result = schedule(queue, hosts);
      const byId = new Map(queue.map((q) => [q.id, q]));
      const ids = [...result.placements.map((p) => p.run_id), ...result.waiting.map((w) => w.run_id)].sort();
      expect(ids).toEqual(queue.map((q) => q.id).sort());
      const load = new Map<string, { runs: string[]; share: boolean[] }>();
      const cpuUse = new Map<string, number>();
      for (const p of result.placements) {
        const q = byId.get(p.run_id)!;
        const h = hosts.find((x) => x.host_id === p.host_id)!;
        expect(h.online).toBe(true);
        for (const l of q.resources.labels) expect(h.labels).toContain(l);
        if (q.resources.gpus === 0) {
          expect(p.devices).toEqual([-1]);
          cpuUse.set(h.host_id, (cpuUse.get(h.host_id) ?? 0) + 1);
          continue;
        }
        expect(new Set(p.devices).size).toBe(q.resources.gpus);
        for (const d of p.devices) {
          const dev = h.devices.find((x) => x.index === d)!;
          expect(dev.memory_total_mb).toBeGreaterThanOrEqual(q.resources.min_gpu_memory_mb);
          const key = `${h.host_id}:${d}`;
          const entry = load.get(key) ?? { runs: [...dev.run_ids], share: dev.run_ids.map(() => dev.shared_ok === true) };
          entry.runs.push(q.id);
          entry.share.push(q.resources.share);
          load.set(key, entry);
        }
      }
      for (const entry of load.values()) {
        if (entry.runs.length > 1) {
          expect(entry.share.every(Boolean)).toBe(true);
          expect(entry.runs.length).toBeLessThanOrEqual(2);
        }
      }
      for (const [h, used] of cpuUse) {
        const cap = hosts.find((x) => x.host_id === h)!;
        expect(used + cap.cpu_run_ids.length).toBeLessThanOrEqual(cap.cpu_slots);
      }
      // FIFO within a shape: a run never waits while a later run with the same needs was placed.
      const order = [...queue].sort((a, b) => b.priority - a.priority || a.queued_at - b.queued_at || (a.id < b.id ? -1 : 1));
      const placedIds = new Set(result.placements.map((p) => p.run_id));
      const shape = (q: QueuedRun) => JSON.stringify([q.resources.gpus, q.resources.min_gpu_memory_mb, q.resources.labels, q.resources.share]);
      order.forEach((q, i) => {
        if (placedIds.has(q.id)) return;
        for (const later of order.slice(i + 1)) if (shape(later) === shape(q)) expect(placedIds.has(later.id)).toBe(false);
      });
    }
  });

  it('handles 1,000 runs on 100 hosts x 8 GPUs in one pass', () => {
    const hosts = Array.from({ length: 100 }, (_, i) => host(`h${String(i).padStart(3, '0')}`, 8, { labels: i % 2 ? ['a100'] : [] }));
    const queue = Array.from({ length: 1000 }, (_, i) => run(`r${i}`, { gpus: [1, 2, 4, 8][i % 4], labels: i % 5 === 0 ? ['a100'] : [] }, i % 3, i));
    const r = schedule(queue, hosts);
    expect(r.placements.length + r.waiting.length).toBe(1000);
    const used = r.placements.reduce((n, p) => n + p.devices.length, 0);
    expect(used).toBeLessThanOrEqual(800);
    expect(used).toBeGreaterThan(700);
  });
});
