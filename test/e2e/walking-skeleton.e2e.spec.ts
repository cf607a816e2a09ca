// The spine end to end with every real part: REST -> SQLite/PostgreSQL -> scheduler -> ZeroMQ ->
// the real Python agent -> a real trainer process training ResNet18 on Fashion-MNIST -> metrics back
// over ZeroMQ -> database -> socket.io. Runs once per database.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { EvaluationView, HostView, RunMetricsView, RunView } from '../../src/contracts/api.js';
import { testDatabases } from '../support/databases.js';
import { startSystem, tinyExperiment, type System } from '../support/system.js';

jest.setTimeout(600_000);

const databases = testDatabases();

describe.each(databases)('walking skeleton on $name', ({ url }) => {
  let sys: System;

  beforeAll(async () => {
    sys = await startSystem({ databaseUrl: await url(), cpuSlots: 2 });
    // The local worker (a real Python agent) registers itself.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const hosts = (await sys.api<HostView[]>('GET', '/api/hosts')).body;
      if (hosts.some((h) => h.status === 'online')) break;
      if (Date.now() > deadline) throw new Error('local worker never came online');
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  afterAll(async () => {
    await sys?.close();
  });

  it('registers the local worker with its CPU device', async () => {
    const { body } = await sys.api<HostView[]>('GET', '/api/hosts');
    const host = body.find((h) => h.status === 'online')!;
    expect(host.cpu_slots).toBe(2);
    expect(host.devices.some((d) => d.kind === 'cpu' && d.index === -1)).toBe(true);
    expect(host.versions.torch).toMatch(/^\d+\.\d+/);
  });

  it('answers 400 naming every offending field', async () => {
    const res = await sys.api<{ errors: { path: string }[] }>('POST', '/api/experiments', {
      name: '',
      model: { conv1: { kernel: 0, stride: 1, padding: 2 }, bogus: 1 },
      train: { epochs: -1, batch_size: 'x' },
    });
    expect(res.status).toBe(400);
    const paths = res.body.errors.map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['name', 'model.conv1.kernel', 'model.bogus', 'train.epochs', 'train.batch_size']));
    expect((await sys.api<{ total: number }>('GET', '/api/runs')).body.total).toBe(0);
  });

  it('trains a real run: metrics reach the database and a socket.io client; F1 is computed in TS', async () => {
    const socket = await sys.socket();
    const livePoints: { key: string; value: number }[] = [];
    socket.on('run.metrics', (e) => livePoints.push(...e.points));
    const liveEvaluations: EvaluationView[] = [];
    socket.on('run.evaluation', (e) => liveEvaluations.push(e));

    const created = await sys.api<{ runs: RunView[] }>('POST', '/api/experiments', tinyExperiment('skeleton', { train: { epochs: 2, batch_size: 64, seed: 1 } }));
    expect(created.status).toBe(201);
    expect(created.body.runs).toHaveLength(1);
    const id = created.body.runs[0].id;
    const ack = await socket.emitWithAck('subscribe', { run_id: id, after_seq: 0 });
    expect(ack).toEqual({ ok: true });

    const done = await sys.waitForRun(id, (r) => ['succeeded', 'failed', 'cancelled', 'skipped'].includes(r.status));
    expect(done.reason).toBeNull();
    expect(done.status).toBe('succeeded');
    expect(done.epochs_completed).toBe(2);

    const metrics = (await sys.api<RunMetricsView>('GET', `/api/runs/${id}/metrics`)).body;
    for (const key of ['train_loss', 'train_acc', 'test_acc', 'images_per_s', 'epoch_seconds']) {
      expect(metrics.series[key]?.value.length).toBeGreaterThan(0);
    }
    const loss = metrics.series.train_loss.value;
    expect(loss.every((v) => Number.isFinite(v) && v > 0)).toBe(true);

    const evals = (await sys.api<EvaluationView[]>('GET', `/api/runs/${id}/evaluations`)).body;
    expect(evals.map((e) => e.epoch)).toEqual([1, 2]);
    for (const e of evals) {
      // Every test image lands in exactly one cell.
      expect(e.matrix.flat().reduce((a, b) => a + b, 0)).toBe(128);
      expect(e.class_names).toHaveLength(10);
      expect(e.measures.macro.f1).toBeGreaterThanOrEqual(0);
      expect(e.measures.macro.f1).toBeLessThanOrEqual(1);
    }
    expect(done.last.macro_f1).toBeCloseTo(evals[1].measures.macro.f1, 12);

    // The socket saw the same data live: points of every kind and both evaluations.
    await new Promise((r) => setTimeout(r, 300));
    expect(new Set(livePoints.map((p) => p.key))).toEqual(new Set(Object.keys(metrics.series)));
    expect(liveEvaluations.map((e) => e.epoch)).toEqual([1, 2]);

    const transitions = (await sys.api<{ to: string }[]>('GET', `/api/runs/${id}/transitions`)).body.map((t) => t.to);
    expect(transitions).toEqual(['queued', 'assigned', 'running', 'succeeded']);
  });

  it('cancels a running run: the trainer stops and the run ends cancelled', async () => {
    const created = await sys.api<{ runs: RunView[] }>(
      'POST',
      '/api/experiments',
      tinyExperiment('to-cancel', { data: { source: 'fashion-mnist', train_subset: 20000, test_subset: 128, pad_to: 36 }, train: { epochs: 50, batch_size: 64 } }),
    );
    const id = created.body.runs[0].id;
    await sys.waitForRun(id, (r) => r.status === 'running');
    const res = await sys.api<RunView>('POST', `/api/runs/${id}/cancel`);
    expect(res.status).toBe(200);
    const done = await sys.waitForRun(id, (r) => ['succeeded', 'failed', 'cancelled'].includes(r.status), 60_000);
    expect(done.status).toBe('cancelled');
    expect(done.epochs_completed).toBeLessThan(50);
    // Cancelling again is a conflict, not a crash.
    expect((await sys.api('POST', `/api/runs/${id}/cancel`)).status).toBe(409);
  });

  it('answers 404 for unknown runs and 400 for bad ids', async () => {
    expect((await sys.api('GET', '/api/runs/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await sys.api('GET', '/api/runs/bad$id')).status).toBe(400);
  });
});
