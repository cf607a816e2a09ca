// Loads what a comparison needs (runs, series, evaluations) and hands it to the pure compareRuns.
import { Injectable } from '@nestjs/common';
import { RunsRepository } from '../storage/runs.repository.js';
import { MetricsRepository } from '../storage/metrics.repository.js';
import { compareRuns, type CompareResponse, type CompareRunInput } from './compare.js';
import { bestEpoch, diffConfusion, type BestEpoch, type BestEpochMetric, type ConfusionDiff } from './confusion.js';
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

  /** The evaluation of a run with the best value of `metric` (ties: the earliest epoch). */
  async bestEpoch(runId: string, metric: BestEpochMetric): Promise<{ run_id: string; best: BestEpoch | null }> {
    const evals = await this.evaluationsOf(runId);
    return { run_id: runId, best: bestEpoch(evals, metric) };
  }

  /** How run b's confusion matrix differs from run a's (each at a given epoch, or its last). */
  async confusionDiff(a: { run_id: string; epoch?: number }, b: { run_id: string; epoch?: number }): Promise<ConfusionDiff & { a: { run_id: string; epoch: number }; b: { run_id: string; epoch: number } }> {
    const pick = async (side: 'a' | 'b', ref: { run_id: string; epoch?: number }) => {
      const evals = await this.evaluationsOf(ref.run_id);
      const e = ref.epoch === undefined ? evals[evals.length - 1] : [...evals].reverse().find((x) => x.epoch === ref.epoch);
      if (!e) throw new MetricsInputError([{ path: `${side}.epoch`, message: `run ${ref.run_id} has no evaluation${ref.epoch === undefined ? '' : ` for epoch ${ref.epoch}`}` }]);
      return e;
    };
    const ea = await pick('a', a);
    const eb = await pick('b', b);
    return { ...diffConfusion(ea, eb), a: { run_id: a.run_id, epoch: ea.epoch }, b: { run_id: b.run_id, epoch: eb.epoch } };
  }

  private async evaluationsOf(runId: string) {
    if (!(await this.runs.findRun(runId))) throw new MetricsInputError([{ path: 'run_id', message: `run ${runId} not found` }]);
    return (await this.metrics.evaluations(runId)).map((e) => ({ epoch: e.epoch, matrix: e.matrix, class_names: e.class_names, loss: e.loss }));
  }
}
