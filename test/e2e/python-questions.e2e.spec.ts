// The short questions the API asks Python in-process through pythonia: the environment, a run's layer
// table, what a dataset holds. Plus the OpenAPI document. No worker is needed for any of these.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { EnvView, RunView } from '../../src/contracts/api.js';
import { startSystem, type System } from '../support/system.js';

jest.setTimeout(180_000);

interface LayerTable {
  rows: { name: string; output_shape: number[]; params: number }[];
  totals: { params: number; mult_adds: number };
}

describe('pythonia questions and the OpenAPI document', () => {
  let sys: System;
  beforeAll(async () => {
    sys = await startSystem({ localWorker: false });
  });
  afterAll(async () => {
    await sys?.close();
  });

  it('answers /api/env from Python', async () => {
    const { status, body } = await sys.api<EnvView>('GET', '/api/env');
    expect(status).toBe(200);
    expect(body.python).toMatch(/^3\.\d+/);
    expect(body.torch).toMatch(/^\d+\.\d+/);
    expect(body.torchvision).toMatch(/^\d+\.\d+/);
    expect(typeof body.cuda_available).toBe('boolean');
  });

  it("gives a run's layer table: the notebook's 512x2x2 before the average pool at 36x36", async () => {
    const created = await sys.api<{ runs: RunView[] }>('POST', '/api/experiments', {
      name: 'layers',
      model: { num_classes: 1000 },
      variants: [{ name: 'standard', overrides: {} }, { name: 'no maxpool', overrides: { model: { maxpool: false } } }],
    });
    const [standard, noMaxpool] = created.body.runs;
    const t = (await sys.api<LayerTable>('GET', `/api/runs/${standard.id}/layers`)).body;
    expect(t.rows.find((r) => r.name === 'layer4')?.output_shape).toEqual([1, 512, 2, 2]);
    expect(t.totals.params).toBe(11_689_512);
    expect(t.totals.mult_adds / 1e6).toBeCloseTo(81.05, 1);
    const t2 = (await sys.api<LayerTable>('GET', `/api/runs/${noMaxpool.id}/layers`)).body;
    expect(t2.rows.find((r) => r.name === 'layer4')?.output_shape).toEqual([1, 512, 3, 3]);
  });

  it('describes a dataset, and says clearly when one cannot be read', async () => {
    const ok = await sys.api<{ readable: boolean; classes: string[]; train_size: number; test_size: number }>('POST', '/api/datasets/describe', { source: 'fashion-mnist' });
    expect(ok.status).toBe(200);
    expect(ok.body.readable).toBe(true);
    expect(ok.body.classes).toHaveLength(10);
    expect(ok.body.test_size).toBeGreaterThan(0);
    const missing = await sys.api<{ readable: boolean; error: string }>('POST', '/api/datasets/describe', { source: 'tensor-files', path: '/nonexistent/folder' });
    expect(missing.status).toBe(200);
    expect(missing.body.readable).toBe(false);
    expect(missing.body.error).toMatch(/nonexistent/);
    const bad = await sys.api<{ errors: { path: string }[] }>('POST', '/api/datasets/describe', { source: 'mnist-ish' });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e) => e.path)).toContain('data.source');
  });

  it('serves the OpenAPI document and UI', async () => {
    const doc = (await sys.api<{ paths: Record<string, unknown> }>('GET', '/api/docs-json')).body;
    for (const p of ['/api/experiments', '/api/runs', '/api/runs/{id}/cancel', '/api/hosts', '/api/env', '/api/compare', '/api/queue']) {
      expect(Object.keys(doc.paths)).toContain(p);
    }
    expect((await fetch(`${sys.url}/api/docs`)).status).toBe(200);
  });
});
