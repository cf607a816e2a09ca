// REST client for the orchestrator. Every response is checked for the shape the views rely on, so a
// server that answers something unexpected shows as a readable error instead of a blank page.

import type { EnvView, EvaluationView, ExperimentView, HostHistoryView, HostView, RunMetricsView, RunStatus, RunView } from '@contracts/api';
import type { CompareResult, FieldError, LaunchResult, LayersView, LogEntry, PresetView, RunsPage } from './types';

export class ApiError extends Error {
  readonly status: number;
  readonly errors: FieldError[];

  constructor(message: string, status: number, errors: FieldError[] = []) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.errors = errors;
  }
}

/** Reads NestJS-style error bodies: { statusCode, message: string | string[], errors?: [{path, message}] }. */
export function errorFromBody(status: number, body: unknown, fallback: string): ApiError {
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    const errors: FieldError[] = Array.isArray(b.errors)
      ? b.errors.flatMap((e): FieldError[] => {
          if (!e || typeof e !== 'object') return [];
          const r = e as Record<string, unknown>;
          return [{ path: typeof r.path === 'string' ? r.path : '', message: typeof r.message === 'string' ? r.message : String(r.message ?? '') }];
        })
      : [];
    let message = fallback;
    if (typeof b.message === 'string' && b.message) message = b.message;
    else if (Array.isArray(b.message) && b.message.length) message = b.message.map(String).join('; ');
    return new ApiError(message, status, errors);
  }
  if (typeof body === 'string' && body.trim()) return new ApiError(body.trim().slice(0, 300), status);
  return new ApiError(fallback, status);
}

async function request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      signal,
      headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(`${method} ${path}: server unreachable`, 0);
  }
  const text = await res.text();
  let parsed: unknown = undefined;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  if (!res.ok) throw errorFromBody(res.status, parsed, `${method} ${path} failed with HTTP ${res.status}`);
  return parsed as T;
}

function shaped<T>(what: string, ok: (v: unknown) => boolean) {
  return (v: unknown): T => {
    if (!ok(v)) throw new ApiError(`unexpected response shape from ${what}`, 200);
    return v as T;
  };
}

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const isArr = Array.isArray;

export interface RunsQuery {
  status?: RunStatus | null;
  experiment_id?: string | null;
  limit?: number;
  offset?: number;
}

export function runsQueryString(q: RunsQuery): string {
  const p = new URLSearchParams();
  if (q.status) p.set('status', q.status);
  if (q.experiment_id) p.set('experiment_id', q.experiment_id);
  if (q.limit !== undefined) p.set('limit', String(q.limit));
  if (q.offset) p.set('offset', String(q.offset));
  const s = p.toString();
  return s ? `?${s}` : '';
}

const enc = encodeURIComponent;
/** The server's largest log page. */
export const LOG_PAGE = 5000;

export const api = {
  hosts: (signal?: AbortSignal) =>
    request<unknown>('GET', '/api/hosts', undefined, signal).then(shaped<HostView[]>('GET /api/hosts', isArr)),
  runs: (q: RunsQuery, signal?: AbortSignal) =>
    request<unknown>('GET', `/api/runs${runsQueryString(q)}`, undefined, signal).then(
      shaped<RunsPage>('GET /api/runs', (v) => isObj(v) && isArr(v.items)),
    ),
  run: (id: string, signal?: AbortSignal) =>
    request<unknown>('GET', `/api/runs/${enc(id)}`, undefined, signal).then(
      shaped<RunView>('GET /api/runs/:id', (v) => isObj(v) && typeof v.id === 'string'),
    ),
  metrics: (id: string, points: number, signal?: AbortSignal) =>
    request<unknown>('GET', `/api/runs/${enc(id)}/metrics?points=${points}`, undefined, signal).then(
      shaped<RunMetricsView>('GET /api/runs/:id/metrics', (v) => isObj(v) && isObj(v.series)),
    ),
  evaluations: (id: string, signal?: AbortSignal) =>
    request<unknown>('GET', `/api/runs/${enc(id)}/evaluations`, undefined, signal).then(
      shaped<EvaluationView[]>('GET /api/runs/:id/evaluations', isArr),
    ),
  layers: (id: string, signal?: AbortSignal) =>
    request<unknown>('GET', `/api/runs/${enc(id)}/layers`, undefined, signal).then(
      shaped<LayersView>('GET /api/runs/:id/layers', (v) => isObj(v) && isArr(v.rows)),
    ),
  logs: (id: string, afterSeq: number, signal?: AbortSignal, limit = LOG_PAGE) =>
    request<unknown>('GET', `/api/runs/${enc(id)}/logs?after_seq=${afterSeq}&limit=${limit}`, undefined, signal).then(
      shaped<{ items: LogEntry[] }>('GET /api/runs/:id/logs', (v) => isObj(v) && isArr(v.items)),
    ),
  cancel: (id: string) =>
    request<unknown>('POST', `/api/runs/${enc(id)}/cancel`).then(
      shaped<RunView>('POST /api/runs/:id/cancel', (v) => isObj(v) && typeof v.id === 'string'),
    ),
  experiments: (signal?: AbortSignal) =>
    request<unknown>('GET', '/api/experiments', undefined, signal).then(shaped<ExperimentView[]>('GET /api/experiments', isArr)),
  createExperiment: (doc: unknown) =>
    request<unknown>('POST', '/api/experiments', doc).then(
      shaped<LaunchResult>('POST /api/experiments', (v) => isObj(v) && isObj(v.experiment) && isArr(v.runs)),
    ),
  presets: (signal?: AbortSignal) =>
    request<unknown>('GET', '/api/presets', undefined, signal).then(shaped<unknown[]>('GET /api/presets', isArr)).then(normalizePresets),
  launchPreset: (name: string, profile: string) =>
    request<unknown>('POST', `/api/presets/${enc(name)}/launch`, { profile }).then(
      shaped<LaunchResult>('POST /api/presets/:name/launch', (v) => isObj(v) && isObj(v.experiment) && isArr(v.runs)),
    ),
  compare: (runIds: string[], signal?: AbortSignal) =>
    request<unknown>('POST', '/api/compare', { run_ids: runIds }, signal).then(
      shaped<CompareResult>('POST /api/compare', (v) => isObj(v) && isArr(v.runs)),
    ),
  hostHistory: (id: string, minutes: number, points: number, signal?: AbortSignal) =>
    request<unknown>('GET', `/api/hosts/${enc(id)}/history?minutes=${minutes}&points=${points}`, undefined, signal).then(
      shaped<HostHistoryView>('GET /api/hosts/:id/history', (v) => isObj(v) && isObj(v.devices)),
    ),
  env: (signal?: AbortSignal) =>
    request<unknown>('GET', '/api/env', undefined, signal).then(shaped<EnvView>('GET /api/env', isObj)),
};

/**
 * The last `keep` log lines of a run. The logs endpoint pages forward from after_seq, so the tail is
 * reached by paging; a page that is short or does not advance ends the walk.
 */
export async function fetchLogTail(id: string, keep: number, signal?: AbortSignal, maxPages = 50): Promise<LogEntry[]> {
  let after = 0;
  let tail: LogEntry[] = [];
  for (let page = 0; page < maxPages; page++) {
    const { items } = await api.logs(id, after, signal);
    const valid = items.filter((l) => l && typeof l.seq === 'number' && l.seq > after);
    tail = tail.concat(valid).slice(-keep);
    if (items.length < LOG_PAGE || valid.length === 0) break;
    after = valid[valid.length - 1]!.seq;
  }
  return tail;
}

export function normalizePresets(raw: readonly unknown[]): PresetView[] {
  return raw.filter(isObj).flatMap((p): PresetView[] => {
    if (typeof p.name !== 'string') return [];
    const profiles = (Array.isArray(p.profiles) ? p.profiles : []).flatMap((x): PresetView['profiles'] => {
      if (typeof x === 'string') return [{ name: x, description: null }];
      if (isObj(x) && typeof x.name === 'string') return [{ name: x.name, description: typeof x.description === 'string' ? x.description : null }];
      return [];
    });
    return [
      {
        name: p.name,
        description: typeof p.description === 'string' ? p.description : '',
        profiles,
        runs: typeof p.runs === 'number' ? p.runs : 0,
        default_profile: typeof p.default_profile === 'string' ? p.default_profile : null,
        run_names: Array.isArray(p.run_names) ? p.run_names.filter((n): n is string => typeof n === 'string') : [],
      },
    ];
  });
}

export function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.status ? `${err.message} (HTTP ${err.status})` : err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

export const isAbort = (err: unknown): boolean => err instanceof Error && err.name === 'AbortError';
