// What a (re)subscribing dashboard missed: every stored run event after a seq, from the database.
import { Injectable } from '@nestjs/common';
import { toEvaluationView } from '../metrics/evaluation.view.js';
import { MetricsRepository } from '../storage/metrics.repository.js';
import { RunsRepository } from '../storage/runs.repository.js';

type Replayed =
  | { kind: 'metrics'; seq: number; points: import('../storage/metrics.repository.js').StoredPoint[] }
  | { kind: 'evaluation'; seq: number; evaluation: ReturnType<typeof toEvaluationView> }
  | { kind: 'log'; seq: number; level: string; message: string };

@Injectable()
export class CatchUpService {
  constructor(
    private readonly metrics: MetricsRepository,
    private readonly runs: RunsRepository,
  ) {}

  /** null when the run does not exist. */
  async eventsAfter(runId: string, afterSeq: number): Promise<Replayed[] | null> {
    if (!(await this.runs.findRun(runId))) return null;
    const [points, evaluations, logs] = await Promise.all([
      this.metrics.points(runId, afterSeq),
      this.metrics.evaluations(runId, afterSeq),
      this.metrics.logs(runId, afterSeq, 500),
    ]);
    const out: Replayed[] = [];
    if (points.length) out.push({ kind: 'metrics', seq: points[points.length - 1].seq, points });
    for (const e of evaluations) out.push({ kind: 'evaluation', seq: e.seq, evaluation: toEvaluationView(e) });
    for (const l of logs) out.push({ kind: 'log', seq: l.seq, level: l.level, message: l.message });
    return out;
  }
}
