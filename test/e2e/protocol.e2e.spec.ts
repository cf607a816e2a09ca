// The wire protocol against the real broker with simulated workers: exactly-once storage of
// run-scoped messages, acks of the highest contiguous seq, bad frames dropped without harm, dead
// hosts noticed by liveness, and runs lost with them requeued.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { HostView, RunMetricsView, RunView } from '../../src/contracts/api.js';
import type { AckContent, AssignContent, Message } from '../../src/contracts/wire.js';
import { ZmqBroker } from '../../src/bridge/zmq-broker.adapter.js';
import { IngestService } from '../../src/metrics/ingest.service.js';
import { encode, makeHeader } from '../../src/bridge/envelope.codec.js';
import { SimulatedWorker } from '../../bench/simulated-worker.js';
import { startSystem, tinyExperiment, TEST_WORKER_KEY, type System } from '../support/system.js';

jest.setTimeout(120_000);

describe('wire protocol with simulated workers', () => {
  let sys: System;
  const workers: SimulatedWorker[] = [];
  const worker = async (opts: Partial<ConstructorParameters<typeof SimulatedWorker>[0]> = {}) => {
    const w = new SimulatedWorker({ endpoint: sys.zmqEndpoint, key: TEST_WORKER_KEY, ...opts });
    workers.push(w);
    await w.connect();
    return w;
  };

  /**
   * Closes every earlier worker and connects a new one, returning once it is the only online host:
   * closed workers must be declared dead first, or a run could be placed on one of them.
   */
  const soleWorker = async (opts: Partial<ConstructorParameters<typeof SimulatedWorker>[0]> & { host: string }) => {
    for (const w of workers.splice(0)) await w.close();
    const w = await worker(opts);
    for (let i = 0; ; i++) {
      const online = (await sys.api<HostView[]>('GET', '/api/hosts')).body.filter((h) => h.status === 'online');
      if (online.length === 1 && online[0].name === opts.host) return w;
      if (i > 100) throw new Error('closed workers were never declared offline');
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  beforeAll(async () => {
    // An ack-point cache of one run: every test here also proves that runs dropped from it and read back
    // from the database keep exactly-once storage and contiguous acks.
    sys = await startSystem({ localWorker: false, heartbeatMs: 300, assignTimeoutMs: 1500, ingestCachedRuns: 1 });
  });
  afterAll(async () => {
    for (const w of workers) await w.close();
    await sys?.close();
  });

  it('stores each (run, seq) once, acks the highest contiguous seq, and finishes the run', async () => {
    const w = await worker();
    const created = await sys.api<{ runs: RunView[] }>('POST', '/api/experiments', tinyExperiment('proto'));
    const runId = created.body.runs[0].id;
    const assign = (await w.next((m) => m.header.type === 'assign')) as Message<'assign'>;
    expect(assign.content.run_id).toBe(runId);
    expect(assign.content.first_seq).toBe(1);
    expect(assign.content.devices).toEqual([-1]);
    expect(assign.content.spec.data.train_subset).toBe(256);

    const point = (step: number) => ({ key: 'train_loss', step, epoch: 1, value: 1 / step, wall_time: Date.now() / 1000 });
    w.send('started', { pid: 1, device: 'cpu', attempt: 1, resumed_from_epoch: null, params: 1, dataset: { fingerprint: 'x', train_size: 256, test_size: 128, class_names: [], input_shape: [3, 36, 36] } }, { run_id: runId, seq: 1 });
    w.send('metrics', { points: [point(1)] }, { run_id: runId, seq: 2 });
    w.send('metrics', { points: [point(2)] }, { run_id: runId, seq: 2 }); // duplicate seq: dropped
    w.send('metrics', { points: [point(4)] }, { run_id: runId, seq: 4 }); // gap: stored, not acked past 2
    let ack = (await w.next((m) => m.header.type === 'ack' && (m.content as { seq: number }).seq >= 2)) as Message<'ack'>;
    expect(ack.content.seq).toBe(2);
    w.send('metrics', { points: [point(3)] }, { run_id: runId, seq: 3 }); // fills the gap
    ack = (await w.next((m) => m.header.type === 'ack' && (m.content as { seq: number }).seq >= 4)) as Message<'ack'>;
    expect(ack.content.seq).toBe(4);
    w.send('metrics', { points: [point(1)] }, { run_id: runId, seq: 2 }); // replay after "reconnect": dropped

    w.send('evaluation', { epoch: 1, split: 'test', class_names: ['a', 'b'], matrix: [[3, 1], [2, 4]], misclassified: [{ index: 5, true: 0, pred: 1 }], loss: 0.5, samples: 10 }, { run_id: runId, seq: 5 });
    // Invalid content is not applied, but its seq is recorded: acks must not stall behind it.
    w.send('metrics', { points: [{ key: 'bad', step: 1.5, epoch: 1, value: 1, wall_time: 1 }] }, { run_id: runId, seq: 6 });
    w.send('finished', { status: 'succeeded', error: null, epochs_completed: 1 }, { run_id: runId, seq: 7 });
    const done = await sys.waitForRun(runId, (r) => r.status === 'succeeded', 10_000);
    ack = (await w.next((m) => m.header.type === 'ack' && (m.content as { seq: number }).seq >= 7)) as Message<'ack'>;
    expect(ack.content.seq).toBe(7);
    const m = (await sys.api<RunMetricsView>('GET', `/api/runs/${runId}/metrics`)).body;
    // The second message with seq 2 (step 2) was a duplicate: no step 2 exists.
    expect(m.series.train_loss.step).toEqual([1, 3, 4]);
    expect(m.series.train_loss.value).toEqual([1, 1 / 3, 1 / 4]);
    expect(m.last_seq).toBe(7);
    expect(Object.keys(m.series)).toEqual(['train_loss']);
    // Macro F1 from the counts (class a: P=3/5, R=3/4; class b: P=4/5, R=4/6), computed in TS.
    const f1a = (2 * (3 / 5) * (3 / 4)) / (3 / 5 + 3 / 4);
    const f1b = (2 * (4 / 5) * (4 / 6)) / (4 / 5 + 4 / 6);
    expect(done.last.macro_f1).toBeCloseTo((f1a + f1b) / 2, 12);
  });

  it('keeps acks contiguous and storage exactly-once for runs that fell out of the ack-point cache', async () => {
    const ingest = sys.app.get(IngestService);
    // Its own label: the earlier tests' workers are still online with free CPU slots.
    const w = await worker({ cpuSlots: 2, labels: ['evict'] });
    const doc = tinyExperiment('evict', { resources: { labels: ['evict'] }, variants: [{ name: 'a' }, { name: 'b' }] });
    const created = await sys.api<{ runs: RunView[] }>('POST', '/api/experiments', doc);
    expect(created.status).toBe(201);
    const [a, b] = created.body.runs.map((r) => r.id);
    for (const id of [a, b]) await w.next((m) => m.header.type === 'assign' && (m.content as AssignContent).run_id === id);
    const point = (step: number) => ({ key: 'train_loss', step, epoch: 1, value: step, wall_time: Date.now() / 1000 });
    // One message per batch, alternating runs, so each batch drops the other run from the cache.
    const send = async (runId: string, seq: number, type: 'started' | 'metrics' | 'finished', content: unknown) => {
      const batches = ingest.stats.batches;
      w.send(type, content as never, { run_id: runId, seq });
      for (let i = 0; i < 400 && ingest.stats.batches === batches; i++) await new Promise((r) => setTimeout(r, 5));
      await ingest.drain();
      expect(ingest.cachedRuns).toBeLessThanOrEqual(1);
    };
    const ackOf = async (runId: string, atLeast: number) =>
      ((await w.next((m) => m.header.type === 'ack' && (m.content as AckContent).run_id === runId && (m.content as AckContent).seq >= atLeast)) as Message<'ack'>).content.seq;
    const started = { pid: 1, device: 'cpu', attempt: 1, resumed_from_epoch: null, params: 1, dataset: { fingerprint: 'x', train_size: 256, test_size: 128, class_names: [], input_shape: [3, 36, 36] } };
    await send(a, 1, 'started', started);
    await send(b, 1, 'started', started);
    await send(a, 3, 'metrics', { points: [point(3)] }); // a gap in a: stored above the ack point
    await send(b, 2, 'metrics', { points: [point(2)] });
    await send(a, 3, 'metrics', { points: [point(30)] }); // duplicate of a stored seq above the gap
    await send(b, 2, 'metrics', { points: [point(20)] }); // duplicate at the ack point
    await send(a, 2, 'metrics', { points: [point(2)] }); // fills the gap: a acks 3
    expect(await ackOf(a, 3)).toBe(3);
    expect(await ackOf(b, 2)).toBe(2);
    await send(a, 4, 'finished', { status: 'succeeded', error: null, epochs_completed: 1 });
    await send(b, 3, 'finished', { status: 'succeeded', error: null, epochs_completed: 1 });
    for (const [id, steps, last] of [[a, [2, 3], 4], [b, [2], 3]] as const) {
      const run = await sys.waitForRun(id, (r) => r.status === 'succeeded', 10_000);
      const m = (await sys.api<RunMetricsView>('GET', `/api/runs/${id}/metrics`)).body;
      expect({ steps: m.series.train_loss.step, values: m.series.train_loss.value, last: m.last_seq }).toEqual({ steps, values: steps, last });
      expect(run.status).toBe('succeeded');
    }
  });

  it('drops bad frames, counts them, and keeps serving', async () => {
    const broker = sys.app.get(ZmqBroker);
    const before = { ...broker.counters.dropped };
    const w = await worker();
    w.sendRaw([Buffer.from('garbage')]);
    w.sendRaw([Buffer.from('TY1'), Buffer.from('0'.repeat(64)), Buffer.from('{}'), Buffer.from('{}')]);
    const other = new SimulatedWorker({ endpoint: sys.zmqEndpoint, key: 'a-different-key-entirely-0000' });
    workers.push(other);
    other.socket.connect(sys.zmqEndpoint);
    other.send('hello', other.hello());
    w.send('metrics', { points: [{ key: 'x', step: 'NaN' as unknown as number, epoch: 1, value: 1, wall_time: 1 }] }, { run_id: 'nope', seq: 1 });
    // A captured signed frame sent again, and a signed frame from far in the past: replay protection.
    const heartbeat = encode(Buffer.from(TEST_WORKER_KEY), makeHeader(w.session, 'heartbeat'), { devices: [], cpu_pct: null, mem_used_mb: null, runs: [] });
    w.sendRaw(heartbeat);
    w.sendRaw(heartbeat);
    w.sendRaw(encode(Buffer.from(TEST_WORKER_KEY), { ...makeHeader(w.session, 'heartbeat'), date: '2020-01-01T00:00:00.000Z' }, { devices: [], cpu_pct: null, mem_used_mb: null, runs: [] }));
    await new Promise((r) => setTimeout(r, 500));
    const dropped = broker.counters.dropped;
    expect((dropped.replayed ?? 0) - (before.replayed ?? 0)).toBe(1);
    expect((dropped.stale ?? 0) - (before.stale ?? 0)).toBe(1);
    expect((dropped.frames ?? 0) - (before.frames ?? 0)).toBe(1);
    expect((dropped.signature ?? 0) - (before.signature ?? 0)).toBe(2);
    expect((dropped.content ?? 0) - (before.content ?? 0)).toBe(1);
    // The worker with the wrong key never registered.
    const hosts = (await sys.api<HostView[]>('GET', '/api/hosts')).body;
    expect(hosts.find((h) => h.id === other.workerId)).toBeUndefined();
    expect((await sys.api('GET', '/api/hosts')).status).toBe(200);
  });

  it('notices a silent host within liveness and requeues its running run', async () => {
    const doomed = await soleWorker({ host: 'doomed' });
    const created = await sys.api<{ runs: RunView[] }>('POST', '/api/experiments', tinyExperiment('will-be-lost'));
    const runId = created.body.runs[0].id;
    const a = (await doomed.next((m) => m.header.type === 'assign')) as Message<'assign'>;
    doomed.send('started', { pid: 1, device: 'cpu', attempt: a.content.attempt, resumed_from_epoch: null, params: 1, dataset: { fingerprint: 'x', train_size: 1, test_size: 1, class_names: [], input_shape: [] } }, { run_id: runId, seq: a.content.first_seq });
    await sys.waitForRun(runId, (r) => r.status === 'running', 10_000);
    // The doomed host's last messages arrive with a gap (first_seq + 1 never comes).
    doomed.send('log', { level: 'info', message: 'after the gap' }, { run_id: runId, seq: a.content.first_seq + 2 });
    await new Promise((r) => setTimeout(r, 200));
    doomed.stopHeartbeats();
    const t0 = Date.now();
    const rescuer = await worker({ host: 'rescuer' });
    const reassigned = (await rescuer.next((m) => m.header.type === 'assign' && (m.content as AssignContent).run_id === runId, 20_000)) as Message<'assign'>;
    const noticedMs = Date.now() - t0;
    expect(reassigned.content.attempt).toBe(2);
    // Seqs continue after the highest seq attempt 1 stored; the gap is closed, so acks are contiguous.
    expect(reassigned.content.first_seq).toBe(a.content.first_seq + 3);
    rescuer.send('started', { pid: 2, device: 'cpu', attempt: 2, resumed_from_epoch: null, params: 1, dataset: { fingerprint: 'x', train_size: 1, test_size: 1, class_names: [], input_shape: [] } }, { run_id: runId, seq: reassigned.content.first_seq });
    const ack = (await rescuer.next((m) => m.header.type === 'ack' && (m.content as { run_id: string }).run_id === runId)) as Message<'ack'>;
    expect(ack.content.seq).toBe(reassigned.content.first_seq);
    const hosts = (await sys.api<HostView[]>('GET', '/api/hosts')).body;
    expect(hosts.find((h) => h.name === 'doomed')?.status).toBe('offline');
    const transitions = (await sys.api<{ to: string }[]>('GET', `/api/runs/${runId}/transitions`)).body.map((t) => t.to);
    expect(transitions).toEqual(['queued', 'assigned', 'running', 'lost', 'queued', 'assigned', 'running']);
    // Messages from the stale worker no longer count for the run.
    doomed.send('finished', { status: 'succeeded', error: null, epochs_completed: 1 }, { run_id: runId, seq: a.content.first_seq + 1 });
    await new Promise((r) => setTimeout(r, 300));
    const after = (await sys.api<RunView>('GET', `/api/runs/${runId}`)).body;
    expect(after.status).toBe('running');
    expect(after.attempt).toBe(2);
    expect(noticedMs).toBeGreaterThan(0);
  });

  it('places a run again when its worker never answers the assignment', async () => {
    const mute = await soleWorker({ host: 'mute', autoAccept: false });
    const created = await sys.api<{ runs: RunView[] }>('POST', '/api/experiments', tinyExperiment('unanswered'));
    const runId = created.body.runs[0].id;
    // The mute worker keeps heartbeating (it is alive) but never says accepted or rejected.
    await mute.next((m) => m.header.type === 'assign' && (m.content as AssignContent).run_id === runId);
    const again = (await mute.next((m) => m.header.type === 'assign' && (m.content as AssignContent).run_id === runId, 20_000)) as Message<'assign'>;
    expect(again.content.attempt).toBe(1);
    const transitions = (await sys.api<{ to: string; reason: string }[]>('GET', `/api/runs/${runId}/transitions`)).body;
    expect(transitions.map((t) => t.to).slice(0, 4)).toEqual(['queued', 'assigned', 'queued', 'assigned']);
    expect(transitions[2].reason).toMatch(/no answer to the assignment/);
  });
});
