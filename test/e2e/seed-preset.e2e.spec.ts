// The seed study through REST with no worker connected: launching the preset's `full` profile
// stores exactly the notebook's ten runs with the notebook's settings (seed/resnet18-notebook.md),
// and, with no host online, each waits as unschedulable with the reason rather than silently.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { ExperimentView, RunView } from '../../src/contracts/api.js';
import { testDatabases } from '../support/databases.js';
import { startSystem, type System } from '../support/system.js';

jest.setTimeout(120_000);

const dbs = testDatabases();

// Written out from the notebook, not imported from the preset: the test must catch a drift of either.
const NOTEBOOK_AUGMENT = [
  { op: 'hflip', p: 0.5 }, // transforms.RandomHorizontalFlip()
  { op: 'rotation', degrees: [-7, 7] }, // transforms.RandomRotation((-7,7))
  { op: 'affine', degrees: [0, 0], shear: 10, scale: [0.8, 1.2] }, // transforms.RandomAffine(0, shear=10, scale=(0.8,1.2))
];
const NOTEBOOK_NORMALIZE = { mean: [0.491, 0.482, 0.446], std: [0.247, 0.243, 0.261] };

const TORCHVISION = null; // conv1 untouched: torchvision's 7x7 stride 2 padding 3
const C7 = { kernel: 7, stride: 1, padding: 3 };
const C5 = { kernel: 5, stride: 1, padding: 2 };

// name -> [pretrained, resize, conv1, maxpool], in the notebook's order.
const EXPECTED: [string, boolean, number | null, typeof C7 | null, boolean][] = [
  ['scratch', false, null, TORCHVISION, true],
  ['pretrained', true, null, TORCHVISION, true],
  ['scratch_224', false, 224, TORCHVISION, true],
  ['pretrained_224', true, 224, TORCHVISION, true],
  ['modified_scratch_1', false, null, C7, true],
  ['modified_scratch_2', false, null, C5, true],
  ['modified_scratch_3', false, null, TORCHVISION, false],
  ['modified_pretrained_1', true, null, C7, true],
  ['modified_pretrained_2', true, null, C5, true],
  ['modified_pretrained_3', true, null, TORCHVISION, false],
];

describe.each(dbs)('seed-study preset on $name', ({ url }) => {
  let sys: System;
  let experiment: ExperimentView;
  let runs: RunView[];
  let answered: RunView[];

  beforeAll(async () => {
    sys = await startSystem({ localWorker: false, databaseUrl: await url() });
    const hosts = await sys.api<unknown[]>('GET', '/api/hosts');
    expect(hosts.body).toEqual([]);
    const launched = await sys.api<{ experiment: ExperimentView; runs: RunView[] }>('POST', '/api/presets/seed-study/launch', { profile: 'full' });
    expect(launched.status).toBe(201);
    experiment = launched.body.experiment;
    answered = launched.body.runs;
    // The stored runs, read back the way a client would, not the launch's answer.
    const listed = await sys.api<{ items: RunView[]; total: number }>('GET', `/api/runs?experiment_id=${experiment.id}&sort=created_at&limit=100`);
    expect(listed.status).toBe(200);
    runs = listed.body.items;
  });
  afterAll(async () => {
    await sys?.close();
  });

  it('stores exactly the ten notebook runs, in order', async () => {
    expect(runs.map((r) => r.name)).toEqual(EXPECTED.map((e) => e[0]));
    expect(experiment.run_ids).toEqual(runs.map((r) => r.id));
    // The launch answer names the same run by the same id as storage (a multi-row insert once swapped them).
    expect(answered.map((r) => [r.id, r.name])).toEqual(runs.map((r) => [r.id, r.name]));
    const all = await sys.api<{ total: number }>('GET', '/api/runs');
    expect(all.body.total).toBe(10);
    // Ten distinct variants: every resolved spec hashes differently.
    expect(new Set(runs.map((r) => r.spec_hash)).size).toBe(10);
  });

  it.each(EXPECTED)('%s has the notebook\'s model and input variant', (name, pretrained, resize, conv1, maxpool) => {
    const run = runs.find((r) => r.name === name)!;
    expect(run.spec.model).toEqual({ arch: 'resnet18', pretrained, conv1, maxpool, num_classes: 10 });
    expect(run.spec.data.resize).toBe(resize);
    const stored = runs.find((r) => r.name === name)!;
    expect(stored.status).toBe('queued');
  });

  it("every run has the notebook's optimizer, schedule, batch, epochs, augmentations and normalization", () => {
    for (const r of runs) {
      expect(r.spec.optim).toMatchObject({ name: 'adam', lr: 0.001, weight_decay: 0, schedule: { name: 'none' } });
      expect(r.spec.train).toMatchObject({ epochs: 10, batch_size: 64 });
      expect(r.spec.data).toMatchObject({
        source: 'fashion-mnist',
        train_subset: null, // full profile: the whole data set
        test_subset: null,
        pad_to: 36, // the notebook's 36x36 inputs
        channels: 3,
        normalize: NOTEBOOK_NORMALIZE,
        augment: NOTEBOOK_AUGMENT,
      });
      expect(r.spec.resources).toEqual({ gpus: 0, min_gpu_memory_mb: 0, labels: [], share: false });
      expect(r.spec.max_restarts).toBe(2);
      expect(r.epochs_completed).toBe(0);
    }
  });

  it('GET /api/runs/:id returns the same stored spec as the list', async () => {
    for (const r of runs) {
      const one = await sys.api<RunView>('GET', `/api/runs/${r.id}`);
      expect(one.status).toBe(200);
      expect(one.body.spec).toEqual(r.spec);
      expect(one.body.spec_hash).toBe(r.spec_hash);
    }
  });

  it('with no worker connected the runs wait as unschedulable, with the reason, in notebook order', async () => {
    let queue: { position: number; run: RunView; reason: string | null }[] = [];
    for (let i = 0; i < 100; i++) {
      queue = (await sys.api<typeof queue>('GET', '/api/queue')).body;
      if (queue.length === 10 && queue.every((q) => q.reason)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(queue.map((q) => q.run.name)).toEqual(EXPECTED.map((e) => e[0]));
    expect(queue.map((q) => q.position)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    for (const q of queue) expect(q.reason).toBe('unschedulable: needs a CPU slot; no host is online');
    const one = await sys.api<RunView>('GET', `/api/runs/${runs[0].id}`);
    expect(one.body.reason).toBe('unschedulable: needs a CPU slot; no host is online');
  });

  it('the smoke and quick profiles differ only in subset sizes and epochs', async () => {
    for (const [profile, train, test, epochs] of [['smoke', 256, 256, 1], ['quick', 5000, 1000, 3]] as const) {
      const res = await sys.api<{ runs: RunView[] }>('POST', '/api/presets/seed-study/launch', { profile });
      expect(res.status).toBe(201);
      expect(res.body.runs.map((r) => r.name)).toEqual(EXPECTED.map((e) => e[0]));
      res.body.runs.forEach((r, i) => {
        expect(r.spec.data.train_subset).toBe(train);
        expect(r.spec.data.test_subset).toBe(test);
        expect(r.spec.train.epochs).toBe(epochs);
        const full = runs[i].spec;
        expect({ ...r.spec, data: { ...r.spec.data, train_subset: null, test_subset: null }, train: { ...r.spec.train, epochs: 10 } }).toEqual(full);
      });
    }
    const bad = await sys.api<{ message: string }>('POST', '/api/presets/seed-study/launch', { profile: 'huge' });
    expect(bad.status).toBe(404);
    expect(bad.body.message).toContain('full, quick, smoke');
  });
});
