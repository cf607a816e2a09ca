// Data hooks: REST for the initial state, socket.io for the deltas, a slow poll as a safety net for
// events a view is not subscribed to.

import { useCallback, useEffect, useRef, useState } from 'react';
import type { EvaluationView, HostView, RunView } from '@contracts/api';
import { api, errorText, fetchLogTail, isAbort, type RunsQuery } from './api';
import { getSocket, useReconnect, useSocketEvent } from './live';
import { appendPoints, SeqGate, seriesFromView, type SeriesMap } from './series';
import type { LogEntry } from './types';

export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(t);
  }, [intervalMs]);
  return now;
}

export interface Loadable<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  reload: () => void;
}

/** Runs `load` when deps change (aborting the previous call) and on reload(); keeps the last data while reloading. */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: readonly unknown[]): Loadable<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const ac = new AbortController();
    setLoading(true);
    load(ac.signal)
      .then((d) => {
        if (ac.signal.aborted) return;
        setData(d);
        setError(null);
      })
      .catch((err: unknown) => {
        if (!ac.signal.aborted && !isAbort(err)) setError(errorText(err));
      })
      .finally(() => {
        if (!ac.signal.aborted) setLoading(false);
      });
    return () => ac.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload };
}

/** Re-run `fn` every `ms` while the tab is visible. */
export function useInterval(fn: () => void, ms: number): void {
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => {
    const t = setInterval(() => {
      if (document.visibilityState === 'visible') ref.current();
    }, ms);
    return () => clearInterval(t);
  }, [ms]);
}

export function useHosts(): Loadable<HostView[]> {
  const loaded = useLoad((signal) => api.hosts(signal), []);
  const [live, setLive] = useState<HostView[] | null>(null);
  useSocketEvent('hosts', (hosts) => {
    if (Array.isArray(hosts)) setLive(hosts);
  });
  // A REST answer newer than the last event wins, and vice versa.
  useEffect(() => setLive(null), [loaded.data]);
  useReconnect(loaded.reload);
  useInterval(loaded.reload, 30_000);
  return { ...loaded, data: live ?? loaded.data };
}

export function useRuns(query: RunsQuery): Loadable<{ items: RunView[]; total: number }> {
  const key = JSON.stringify(query);
  const loaded = useLoad((signal) => api.runs(query, signal), [key]);
  const [updates, setUpdates] = useState<Map<string, RunView>>(new Map());
  useEffect(() => setUpdates(new Map()), [loaded.data]);
  useSocketEvent('run.update', (run) => {
    if (!run || typeof run.id !== 'string') return;
    setUpdates((m) => new Map(m).set(run.id, run));
  });
  useReconnect(loaded.reload);
  useInterval(loaded.reload, 10_000);

  let data = loaded.data;
  if (data && updates.size) {
    const known = new Set(data.items.map((r) => r.id));
    const items = data.items.map((r) => updates.get(r.id) ?? r);
    // Runs created meanwhile that match the filter appear on the first page without waiting for a poll.
    const fresh = [...updates.values()].filter(
      (r) => !known.has(r.id) && (query.offset ?? 0) === 0 && (!query.status || r.status === query.status) && (!query.experiment_id || r.experiment_id === query.experiment_id),
    );
    const merged = [...fresh.reverse(), ...items].filter((r) => !query.status || r.status === query.status);
    data = { items: query.limit ? merged.slice(0, query.limit) : merged, total: data.total + fresh.length };
  }
  return { ...loaded, data };
}

export interface RunLive {
  run: RunView | null;
  series: SeriesMap;
  evaluations: EvaluationView[];
  logs: LogEntry[];
  lastSeq: number;
  error: string | null;
  liveError: string | null;
  loading: boolean;
  setRun: (r: RunView) => void;
}

const SNAPSHOT_POINTS = 2000;
const MAX_LOG_LINES = 1000;

/**
 * One run, live: REST snapshot first (run, metrics with last_seq, evaluations, logs), then a socket.io
 * subscription from last_seq. Every run-scoped event passes one SeqGate, so replays after a reconnect
 * (subscribe again with after_seq = highest seq applied) are never applied twice.
 */
export function useRunLive(runId: string): RunLive {
  const [run, setRun] = useState<RunView | null>(null);
  const [series, setSeries] = useState<SeriesMap>({});
  const [evaluations, setEvaluations] = useState<EvaluationView[]>([]);
  const [logs, setLogs] = useState<LogEntry[]>([]);
  const [lastSeq, setLastSeq] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [liveError, setLiveError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);

  const gate = useRef<SeqGate | null>(null);
  const seriesRef = useRef<SeriesMap>({});
  const evalRef = useRef(new Map<number, EvaluationView>());
  const logRef = useRef(new Map<number, LogEntry>());

  const flushEvals = () => setEvaluations([...evalRef.current.values()].sort((a, b) => a.epoch - b.epoch));
  const flushLogs = () => {
    const all = [...logRef.current.values()].sort((a, b) => a.seq - b.seq);
    if (all.length > MAX_LOG_LINES) {
      for (const l of all.slice(0, all.length - MAX_LOG_LINES)) logRef.current.delete(l.seq);
    }
    setLogs(all.slice(-MAX_LOG_LINES));
  };
  const addEvaluation = (e: EvaluationView) => {
    const prev = evalRef.current.get(e.epoch);
    if (!prev || (e.seq ?? 0) >= (prev.seq ?? 0)) evalRef.current.set(e.epoch, e);
  };

  const subscribe = useCallback(() => {
    const g = gate.current;
    const s = getSocket();
    if (!g || !s.connected) return;
    s.emit('subscribe', { run_id: runId, after_seq: g.resumeAfter }, (r) => {
      setLiveError(r && r.ok === false ? r.error ?? 'subscription refused' : null);
    });
  }, [runId]);

  useEffect(() => {
    const ac = new AbortController();
    gate.current = null;
    seriesRef.current = {};
    evalRef.current = new Map();
    logRef.current = new Map();
    setRun(null);
    setSeries({});
    setEvaluations([]);
    setLogs([]);
    setError(null);
    setLiveError(null);
    setLoading(true);
    (async () => {
      try {
        const r = await api.run(runId, ac.signal);
        setRun(r);
        const m = await api.metrics(runId, SNAPSHOT_POINTS, ac.signal);
        if (ac.signal.aborted) return;
        gate.current = new SeqGate(m.last_seq);
        seriesRef.current = seriesFromView(m);
        setSeries(seriesRef.current);
        setLastSeq(gate.current.resumeAfter);
        // Subscribe before the slower reads: replays after last_seq are deduped against them.
        subscribe();
        const [evals, logTail] = await Promise.all([
          api.evaluations(runId, ac.signal).catch((e: unknown) => (isAbort(e) ? [] : Promise.reject(e))),
          fetchLogTail(runId, MAX_LOG_LINES, ac.signal).catch((e: unknown) => (isAbort(e) ? [] : Promise.reject(e))),
        ]);
        if (ac.signal.aborted) return;
        for (const e of evals) addEvaluation(e);
        for (const l of logTail) logRef.current.set(l.seq, l);
        flushEvals();
        flushLogs();
      } catch (err) {
        if (!ac.signal.aborted && !isAbort(err)) setError(errorText(err));
      } finally {
        if (!ac.signal.aborted) setLoading(false);
      }
    })();
    return () => {
      ac.abort();
      const s = getSocket();
      if (s.connected) s.emit('unsubscribe', { run_id: runId });
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [runId]);

  // Every (re)connect subscribes again from the highest seq applied; the first connect may also come
  // after the snapshot when the page was opened directly on a run.
  useEffect(() => {
    const s = getSocket();
    s.on('connect', subscribe);
    return () => {
      s.off('connect', subscribe);
    };
  }, [subscribe]);
  useReconnect(() => {
    api.run(runId).then(setRun, () => undefined);
  });

  const accept = (id: unknown, seq: unknown): boolean => {
    if (id !== runId || !gate.current || !gate.current.accept(seq)) return false;
    setLastSeq(gate.current.resumeAfter);
    return true;
  };

  useSocketEvent('run.metrics', (e) => {
    if (!e || !Array.isArray(e.points) || !accept(e.run_id, e.seq)) return;
    seriesRef.current = appendPoints(seriesRef.current, e.points);
    setSeries(seriesRef.current);
  });
  useSocketEvent('run.evaluation', (e) => {
    if (!e || !Array.isArray(e.matrix) || !accept(e.run_id, e.seq)) return;
    addEvaluation(e);
    flushEvals();
  });
  useSocketEvent('run.log', (e) => {
    if (!e || !accept(e.run_id, e.seq)) return;
    logRef.current.set(e.seq, { seq: e.seq, level: e.level, message: e.message, created_at: new Date().toISOString() });
    flushLogs();
  });
  useSocketEvent('run.update', (r) => {
    if (r && r.id === runId) setRun(r);
  });

  return { run, series, evaluations, logs, lastSeq, error, liveError, loading, setRun };
}
