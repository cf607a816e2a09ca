import type { RunSummaryValues, RunView } from '../contracts/api.js';
import type { RunEntity } from '../storage/entities.js';

const EMPTY: RunSummaryValues = { train_loss: null, train_acc: null, test_acc: null, macro_f1: null, epoch_seconds: null, images_per_s: null };
const iso = (ms: number | null) => (ms == null ? null : new Date(ms).toISOString());

export function toRunView(
  r: RunEntity,
  experimentName: string,
  progress: RunView['progress'] = null,
  waitReason: string | null = null,
): RunView {
  return {
    id: r.id,
    experiment_id: r.experiment_id,
    experiment_name: experimentName,
    name: r.name,
    status: r.status,
    reason: r.status === 'queued' && waitReason ? waitReason : r.reason,
    attempt: r.attempt,
    host_id: r.host_id,
    devices: r.devices,
    spec: r.spec,
    spec_hash: r.spec_hash,
    epochs_completed: r.epochs_completed,
    progress,
    last: { ...EMPTY, ...(r.last as Partial<RunSummaryValues>) },
    created_at: new Date(r.created_at).toISOString(),
    started_at: iso(r.started_at),
    ended_at: iso(r.ended_at),
  };
}
