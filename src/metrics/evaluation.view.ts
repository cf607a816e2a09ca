import type { EvaluationView, MeasuresView } from '../contracts/api.js';
import type { EvaluationEntity } from '../storage/entities.js';

export function toEvaluationView(e: EvaluationEntity): EvaluationView {
  return {
    run_id: e.run_id,
    epoch: e.epoch,
    seq: e.seq,
    class_names: e.class_names,
    matrix: e.matrix,
    samples: e.samples,
    loss: e.loss,
    measures: e.measures as unknown as MeasuresView,
    created_at: new Date(e.created_at).toISOString(),
  };
}
