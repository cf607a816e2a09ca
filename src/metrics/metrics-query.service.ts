// Read side of a run's reports: series (downsampled on the server), evaluations, logs, checkpoints,
// and the run's layer table (through pythonia).
import { Injectable } from '@nestjs/common';
import type { EvaluationView, LayerTableView, RunMetricsView, SeriesView } from '../contracts/api.js';
import { PythoniaService } from '../bridge/pythonia.service.js';
import { RunsService } from '../runs/runs.service.js';
import { MetricsRepository, type StoredPoint } from '../storage/metrics.repository.js';
import { downsampleAll, type DownsampleMethod } from './downsample.js';
import { MetricsInputError } from './errors.js';
import { toEvaluationView } from './evaluation.view.js';

export { MetricsInputError as MetricsQueryError };

/** Native input size per source, used when a spec neither pads nor resizes. */
const NATIVE_SIZE: Record<string, number> = { 'fashion-mnist': 28, cifar10: 32 };

/** Groups points into series per key; a later report of the same (key, step) replaces the earlier. */
export function toSeries(points: StoredPoint[]): Record<string, SeriesView> {
  const byKey = new Map<string, Map<number, StoredPoint>>();
  for (const p of points) {
    let m = byKey.get(p.key);
    if (!m) byKey.set(p.key, (m = new Map()));
    m.set(p.step, p);
  }
  const out: Record<string, SeriesView> = {};
  for (const [key, m] of byKey) {
    const sorted = [...m.values()].sort((a, b) => a.step - b.step);
    out[key] = {
      step: sorted.map((p) => p.step),
      epoch: sorted.map((p) => p.epoch),
      value: sorted.map((p) => p.value),
      wall_time: sorted.map((p) => p.wall_time),
    };
  }
  return out;
}

@Injectable()
export class MetricsQueryService {
  constructor(
    private readonly repo: MetricsRepository,
    private readonly runs: RunsService,
    private readonly python: PythoniaService,
  ) {}

  async series(runId: string, points: number | null, method: DownsampleMethod = 'lttb', keys?: string[]): Promise<RunMetricsView> {
    const run = await this.runs.require(runId);
    const all = await this.repo.points(runId, 0, keys);
    const series = toSeries(all);
    return { run_id: runId, last_seq: run.last_seq, series: points ? downsampleAll(series, points, method) : series };
  }

  async evaluations(runId: string): Promise<EvaluationView[]> {
    await this.runs.require(runId);
    return (await this.repo.evaluations(runId)).map(toEvaluationView);
  }

  async misclassified(runId: string, epoch: number): Promise<{ epoch: number; items: { index: number; true: number; pred: number }[] }> {
    await this.runs.require(runId);
    const evals = (await this.repo.evaluations(runId)).filter((e) => e.epoch === epoch);
    const latest = evals[evals.length - 1];
    if (!latest) throw new MetricsInputError([{ path: 'epoch', message: `run ${runId} has no evaluation for epoch ${epoch}` }]);
    return { epoch, items: latest.misclassified };
  }

  async logs(runId: string, afterSeq: number, limit: number) {
    await this.runs.require(runId);
    return { items: (await this.repo.logs(runId, afterSeq, limit)).map((l) => ({ seq: l.seq, level: l.level, message: l.message, created_at: new Date(l.created_at).toISOString() })) };
  }

  async checkpoints(runId: string) {
    await this.runs.require(runId);
    return (await this.repo.checkpoints(runId)).map((c) => ({ epoch: c.epoch, path: c.path, bytes: c.bytes, final: c.final, host_id: c.host_id, created_at: new Date(c.created_at).toISOString() }));
  }

  async layers(runId: string): Promise<LayerTableView> {
    const run = await this.runs.require(runId);
    const d = run.spec.data;
    const size = d.resize ?? d.pad_to ?? d.synthetic?.image_size ?? NATIVE_SIZE[d.source];
    if (!size) throw new MetricsInputError([{ path: 'spec.data.resize', message: `input size of a ${d.source} source is unknown until loaded; set data.resize` }]);
    return (await this.python.layerTable(run.spec.model, size, d.channels)) as LayerTableView;
  }
}
