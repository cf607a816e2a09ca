import { afterEach, describe, expect, it, jest } from '@jest/globals';
import type { AppConfig } from '../config/app-config.js';
import type { EvaluationView } from '../contracts/api.js';
import { LIVE_POINTS_PER_KEY, LiveService, thinPerKey, type LiveClient, type LiveTransport } from './live.service.js';

const pt = (seq: number, step: number, key = 'train_loss', value = step) => ({ seq, key, step, epoch: 1, value, wall_time: 0 });

function setup() {
  jest.useFakeTimers();
  const live = new LiveService({ liveThrottleMs: 100 } as AppConfig);
  const roomEvents: { room: string; event: string; payload: unknown }[] = [];
  const transport: LiveTransport = {
    toRoom: (room, event, ...args) => void roomEvents.push({ room, event, payload: args[0] }),
    toAll: () => undefined,
  };
  live.attach(transport);
  const direct: { event: string; payload: unknown }[] = [];
  const rooms = new Set<string>();
  const client: LiveClient = {
    id: 'c1',
    emit: ((event: string, payload: unknown) => void direct.push({ event, payload })) as LiveClient['emit'],
    join: (r) => void rooms.add(r),
    leave: (r) => void rooms.delete(r),
  };
  live.connect(client);
  direct.length = 0;
  return { live, client, roomEvents, direct, rooms };
}

afterEach(() => {
  jest.useRealTimers();
});

describe('LiveService', () => {
  it('holds live events during catch-up and delivers each seq once, in order, before joining the room', () => {
    const { live, client, roomEvents, direct, rooms } = setup();
    live.beginSubscribe(client, 'r1', 2);
    // While the replay query runs, seq 5 and 6 are committed and fanned out.
    live.metrics('r1', 5, [pt(5, 50)]);
    live.logLine('r1', 6, 'info', 'six');
    jest.advanceTimersByTime(150);
    expect(rooms.has('run:r1')).toBe(false);
    expect(direct).toHaveLength(0);
    // The replay covers 3..5 (5 is in both).
    live.finishCatchUp('c1', 'r1', [
      { kind: 'metrics', seq: 5, points: [pt(3, 30), pt(4, 40), pt(5, 50)] },
      { kind: 'log', seq: 4, level: 'info', message: 'four' },
    ]);
    expect(rooms.has('run:r1')).toBe(true);
    const sent = direct.map((d) => (d.event === 'run.metrics' ? (d.payload as { points: { step: number }[] }).points.map((p) => p.step) : (d.payload as { message: string }).message));
    expect(sent).toEqual(['four', [30, 40, 50], 'six']);
    // Held events also went to the room (for sockets already live), never twice to this client directly.
    expect(roomEvents.map((e) => e.event)).toEqual(['run.metrics', 'run.log']);
  });

  it('coalesces points per run per flush and thins a fast series to a bounded envelope', () => {
    const { live, client, roomEvents } = setup();
    live.beginSubscribe(client, 'r1', 0);
    live.finishCatchUp('c1', 'r1', []);
    for (let i = 1; i <= 1000; i++) live.metrics('r1', i, [pt(i, i, 'train_loss', Math.sin(i)), ...(i % 100 === 0 ? [pt(i, i, 'test_acc')] : [])]);
    expect(roomEvents).toHaveLength(0);
    jest.advanceTimersByTime(100);
    expect(roomEvents).toHaveLength(1);
    const e = roomEvents[0].payload as { seq: number; points: { key: string; step: number }[] };
    expect(e.seq).toBe(1000);
    const loss = e.points.filter((p) => p.key === 'train_loss');
    expect(loss.length).toBeLessThanOrEqual(LIVE_POINTS_PER_KEY);
    expect(loss[0].step).toBe(1);
    expect(loss[loss.length - 1].step).toBe(1000);
    // A slow series is untouched.
    expect(e.points.filter((p) => p.key === 'test_acc')).toHaveLength(10);
  });

  it('sends nothing for runs nobody watches, and flushes pending points before an evaluation', () => {
    const { live, client, roomEvents } = setup();
    live.metrics('unwatched', 1, [pt(1, 1)]);
    jest.advanceTimersByTime(200);
    expect(roomEvents).toHaveLength(0);
    live.beginSubscribe(client, 'r1', 0);
    live.finishCatchUp('c1', 'r1', []);
    live.metrics('r1', 1, [pt(1, 1)]);
    live.evaluation({ run_id: 'r1', seq: 2, epoch: 1 } as EvaluationView);
    expect(roomEvents.map((e) => e.event)).toEqual(['run.metrics', 'run.evaluation']);
  });

  it('thinPerKey keeps small batches as they are', () => {
    const pts = [pt(1, 1), pt(2, 2, 'x')];
    expect(thinPerKey(pts, 64)).toBe(pts);
  });
});
