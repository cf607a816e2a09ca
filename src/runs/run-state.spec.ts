import { describe, expect, it } from '@jest/globals';
import type { RunStatus } from '../contracts/api.js';
import { IllegalTransitionError, RUN_STATUSES, assertTransition, canTransition, isTerminal, statusAfterLost } from './run-state.js';

// The allowed transitions, written out independently of RUN_TRANSITIONS.
const ALLOWED = new Set([
  'queued->assigned',
  'queued->cancelled',
  'assigned->running',
  'assigned->queued',
  'assigned->lost',
  'assigned->cancelled',
  'assigned->failed',
  'assigned->skipped',
  'running->succeeded',
  'running->failed',
  'running->cancelled',
  'running->lost',
  'running->skipped',
  'lost->queued',
  'lost->failed',
  'lost->cancelled',
]);

const ALL: RunStatus[] = ['queued', 'assigned', 'running', 'succeeded', 'failed', 'cancelled', 'lost', 'skipped'];
const PAIRS = ALL.flatMap((from) => ALL.map((to) => [from, to] as const));

describe('run state machine', () => {
  it('knows all eight statuses', () => {
    expect([...RUN_STATUSES].sort()).toEqual([...ALL].sort());
    expect(PAIRS).toHaveLength(64);
  });

  it.each(PAIRS)('%s -> %s', (from, to) => {
    const allowed = ALLOWED.has(`${from}->${to}`);
    expect(canTransition(from, to)).toBe(allowed);
    if (allowed) {
      expect(() => assertTransition(from, to)).not.toThrow();
    } else {
      expect(() => assertTransition(from, to)).toThrow(IllegalTransitionError);
      try {
        assertTransition(from, to);
      } catch (e) {
        expect((e as IllegalTransitionError).from).toBe(from);
        expect((e as IllegalTransitionError).to).toBe(to);
        expect((e as Error).message).toContain(`${from} -> ${to}`);
      }
    }
  });

  it('has no way out of a terminal status', () => {
    for (const s of ALL) expect(isTerminal(s)).toBe(['succeeded', 'failed', 'cancelled', 'skipped'].includes(s));
    for (const s of ALL.filter(isTerminal)) for (const to of ALL) expect(canTransition(s, to)).toBe(false);
  });

  it('refuses unknown statuses instead of crashing', () => {
    expect(canTransition('paused' as RunStatus, 'queued')).toBe(false);
    expect(canTransition('queued', 'done' as RunStatus)).toBe(false);
    expect(() => assertTransition('queued', 'done' as RunStatus)).toThrow(/unknown status/);
  });

  it('requeues a lost run while restarts remain, then fails it', () => {
    // attempt counts starts: with max_restarts 2 a run may start three times.
    expect(statusAfterLost(1, 2)).toBe('queued');
    expect(statusAfterLost(2, 2)).toBe('queued');
    expect(statusAfterLost(3, 2)).toBe('failed');
    expect(statusAfterLost(1, 0)).toBe('failed');
    expect(statusAfterLost(0, 0)).toBe('failed');
  });
});
