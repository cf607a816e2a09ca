// The run lifecycle. Every status change goes through assertTransition, so an illegal change (a
// finished run restarted, a queued run "succeeding") is a programming error caught at the source.
import { TERMINAL_STATUSES, type RunStatus } from '../contracts/api.js';

export const RUN_STATUSES: readonly RunStatus[] = ['queued', 'assigned', 'running', 'succeeded', 'failed', 'cancelled', 'lost', 'skipped'];

export const RUN_TRANSITIONS: Readonly<Record<RunStatus, readonly RunStatus[]>> = {
  queued: ['assigned', 'cancelled'],
  // assigned -> queued: the worker rejected the assignment; skipped: it cannot run there (no weights).
  assigned: ['running', 'queued', 'lost', 'cancelled', 'failed', 'skipped'],
  running: ['succeeded', 'failed', 'cancelled', 'lost', 'skipped'],
  // lost -> queued while restarts remain, failed once they are used up.
  lost: ['queued', 'failed', 'cancelled'],
  succeeded: [],
  failed: [],
  cancelled: [],
  skipped: [],
};

export class IllegalTransitionError extends Error {
  constructor(
    readonly from: string,
    readonly to: string,
  ) {
    super(
      isRunStatus(from) && isRunStatus(to)
        ? `illegal run transition ${from} -> ${to}${isTerminal(from) ? ` (${from} is final)` : `; from ${from} a run may go to ${RUN_TRANSITIONS[from].join(', ')}`}`
        : `illegal run transition ${from} -> ${to}: unknown status`,
    );
    this.name = 'IllegalTransitionError';
  }
}

export function isRunStatus(value: unknown): value is RunStatus {
  return typeof value === 'string' && (RUN_STATUSES as readonly string[]).includes(value);
}

export function isTerminal(status: RunStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

export function canTransition(from: RunStatus, to: RunStatus): boolean {
  return isRunStatus(from) && isRunStatus(to) && RUN_TRANSITIONS[from].includes(to);
}

export function assertTransition(from: RunStatus, to: RunStatus): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
}

/**
 * What a lost run becomes: queued again while restarts remain, failed once they are used up.
 * `attempt` counts starts (1 = the first), so attempt - 1 restarts have been spent.
 */
export function statusAfterLost(attempt: number, maxRestarts: number): 'queued' | 'failed' {
  return Math.max(0, attempt - 1) < maxRestarts ? 'queued' : 'failed';
}
