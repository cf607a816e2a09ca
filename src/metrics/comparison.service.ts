// Loads what a comparison needs (runs, series, evaluations) and hands it to the pure compareRuns.
import { Injectable } from '@nestjs/common';
import { RunsRepository } from '../storage/runs.repository.js';
import { MetricsRepository } from '../storage/metrics.repository.js';
import { compareRuns, type CompareResponse, type CompareRunInput } from './compare.js';
import { MetricsInputError } from './errors.js';
import { toSeries } from './metrics-query.service.js';

export const MAX_COMPARE_RUNS = 50;

@Injectable()
export class ComparisonService {
  constructor(
    private readonly runs: RunsRepository,
    private readonly metrics: MetricsRepository,
  ) {}

  async inputs(runIds: string[]): Promise<CompareRunInput[]> {
    const unique = [...new Set(runIds)];
    if (!unique.length || unique.length > MAX_COMPARE_RUNS) {
      throw new MetricsInputError([{ path: 'run_ids', message: `must name 1 to ${MAX_COMPARE_RUNS} runs` }]);
    }
    const found = new Map((await this.runs.findRuns(unique)).map((r) => [r.id, r]));
    const missing = unique.filter((id) => !found.has(id));
    if (missing.length) throw new MetricsInputError(missing.map((id) => ({ path: 'run_ids', message: `run ${id} not found` })));
    const out: CompareRunInput[] = [];
    for (const id of unique) {
      const r = found.get(id)!;
      const [points, evals] = await Promise.all([this.metrics.points(id), this.metrics.evaluations(id)]);
      out.push({
        id,
        name: r.name,
        status: r.status,
        spec: r.spec,
        series: toSeries(points),
        evaluations: evals.map((e) => ({ epoch: e.epoch, matrix: e.matrix, class_names: e.class_names, loss: e.loss })),
        devices: r.devices.filter((d) => d >= 0).length,
        started_at: r.started_at ? new Date(r.started_at).toISOString() : null,
        ended_at: r.ended_at ? new Date(r.ended_at).toISOString() : null,
      });
    }
    return out;
  }

  async compare(runIds: string[], curveKeys?: string[]): Promise<CompareResponse> {
    return compareRuns(await this.inputs(runIds), curveKeys ? { curve_keys: curveKeys } : {});
  }
}
