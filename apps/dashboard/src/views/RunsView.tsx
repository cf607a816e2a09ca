// The runs table: status filter, experiment filter, pagination, live status and values, checkboxes to
// compare. Sorting by column applies to the page on screen.

import { useMemo, useState } from 'react';
import type { HostView, RunView } from '@contracts/api';
import { ErrorBox, Empty, Section, StatusBadge } from '../components/bits';
import { api } from '../lib/api';
import { fmtAgo, fmtDuration, fmtNum, fmtPct, shortId } from '../lib/format';
import { useLoad, useNow, useRuns } from '../lib/hooks';
import { navigate, routeHref, RUN_STATUSES, runHref, type Route } from '../lib/route';

const PAGE = 50;

export function runProgress(r: RunView): { frac: number; label: string } {
  const total = r.spec?.train?.epochs ?? 0;
  let done = r.epochs_completed ?? 0;
  if (r.status === 'running' && r.progress && r.progress.steps_per_epoch > 0) {
    done += Math.min(1, r.progress.step / r.progress.steps_per_epoch);
  }
  const frac = total > 0 ? Math.min(1, done / total) : 0;
  return { frac, label: `${r.epochs_completed ?? 0}/${total || '?'}` };
}

type SortKey = 'name' | 'experiment' | 'status' | 'progress' | 'train_loss' | 'test_acc' | 'macro_f1' | 'epoch_seconds' | 'images_per_s' | 'created';

function sortValue(r: RunView, k: SortKey): string | number {
  switch (k) {
    case 'name':
      return r.name;
    case 'experiment':
      return r.experiment_name;
    case 'status':
      return r.status;
    case 'progress':
      return runProgress(r).frac;
    case 'created':
      return r.created_at;
    default:
      return r.last?.[k] ?? Number.NEGATIVE_INFINITY;
  }
}

function Progress({ run }: { run: RunView }) {
  const p = runProgress(run);
  return (
    <div className="progress" title={run.progress ? `epoch ${run.progress.epoch}, step ${run.progress.step}/${run.progress.steps_per_epoch}` : undefined}>
      <div className="progress-bar">
        <div className={`progress-fill status-bg-${run.status}`} style={{ width: `${p.frac * 100}%` }} />
      </div>
      <span className="progress-label">{p.label}</span>
    </div>
  );
}

export function RunsView({ route, hosts }: { route: Extract<Route, { view: 'runs' }>; hosts: HostView[] }) {
  const now = useNow(5000);
  const runs = useRuns({ status: route.status, experiment_id: route.experiment_id, limit: PAGE, offset: route.page * PAGE });
  const experiments = useLoad((s) => api.experiments(s), []);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [sort, setSort] = useState<{ key: SortKey; dir: 1 | -1 } | null>(null);
  const hostNames = new Map(hosts.map((h) => [h.id, h.name]));

  const items = useMemo(() => {
    const list = [...(runs.data?.items ?? [])];
    if (sort) {
      list.sort((a, b) => {
        const x = sortValue(a, sort.key);
        const y = sortValue(b, sort.key);
        return (x < y ? -1 : x > y ? 1 : 0) * sort.dir;
      });
    }
    return list;
  }, [runs.data, sort]);

  const total = runs.data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / PAGE));
  const go = (patch: Partial<Extract<Route, { view: 'runs' }>>) => navigate({ ...route, page: 0, ...patch });
  const toggle = (id: string) =>
    setSelected((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });
  const allOnPage = items.length > 0 && items.every((r) => selected.has(r.id));
  const th = (label: string, key: SortKey, cls = '') => (
    <th
      className={`sortable ${cls}`}
      onClick={() => setSort((s) => (s?.key === key ? (s.dir === -1 ? null : { key, dir: -1 }) : { key, dir: 1 }))}
      aria-sort={sort?.key === key ? (sort.dir === 1 ? 'ascending' : 'descending') : undefined}
    >
      {label}
      {sort?.key === key ? (sort.dir === 1 ? ' ▲' : ' ▼') : ''}
    </th>
  );

  return (
    <Section
      title={
        <>
          Runs <span className="muted count">{runs.data ? total : ''}</span>
        </>
      }
      actions={
        <>
          <button
            type="button"
            className="btn btn-primary btn-small"
            data-testid="compare-selected"
            disabled={selected.size < 1}
            onClick={() => navigate({ view: 'compare', ids: [...selected] })}
          >
            Compare{selected.size ? ` (${selected.size})` : ''}
          </button>
          {selected.size > 0 && (
            <button type="button" className="btn btn-small" onClick={() => setSelected(new Set())}>
              Clear
            </button>
          )}
          <a className="btn btn-small" href="#/launch">
            New experiment
          </a>
        </>
      }
    >
      <div className="filters">
        <div className="chips" role="group" aria-label="status filter">
          <button type="button" className={`chip-btn${route.status === null ? ' on' : ''}`} onClick={() => go({ status: null })}>
            all
          </button>
          {RUN_STATUSES.map((s) => (
            <button key={s} type="button" data-status={s} className={`chip-btn status-chip-${s}${route.status === s ? ' on' : ''}`} onClick={() => go({ status: s })}>
              {s}
            </button>
          ))}
        </div>
        <label className="inline-field">
          experiment
          <select value={route.experiment_id ?? ''} onChange={(e) => go({ experiment_id: e.target.value || null })}>
            <option value="">all experiments</option>
            {(experiments.data ?? []).map((x) => (
              <option key={x.id} value={x.id}>
                {x.name} ({x.run_ids.length})
              </option>
            ))}
            {route.experiment_id && !(experiments.data ?? []).some((x) => x.id === route.experiment_id) && (
              <option value={route.experiment_id}>{shortId(route.experiment_id)}</option>
            )}
          </select>
        </label>
        {runs.loading && <span className="muted small">loading…</span>}
      </div>

      {runs.error && <ErrorBox onRetry={runs.reload}>Could not load runs: {runs.error}</ErrorBox>}

      <div className="table-scroll">
        <table className="table runs" data-testid="runs-table">
          <thead>
            <tr>
              <th className="check">
                <input
                  type="checkbox"
                  aria-label="select all on page"
                  checked={allOnPage}
                  onChange={() =>
                    setSelected((s) => {
                      const n = new Set(s);
                      for (const r of items) {
                        if (allOnPage) n.delete(r.id);
                        else n.add(r.id);
                      }
                      return n;
                    })
                  }
                />
              </th>
              {th('Name', 'name')}
              {th('Experiment', 'experiment')}
              {th('Status', 'status')}
              {th('Epochs', 'progress')}
              {th('Train loss', 'train_loss', 'num')}
              {th('Test acc', 'test_acc', 'num')}
              {th('Macro F1', 'macro_f1', 'num')}
              {th('s/epoch', 'epoch_seconds', 'num')}
              {th('images/s', 'images_per_s', 'num')}
              <th>Host</th>
              {th('Created', 'created')}
            </tr>
          </thead>
          <tbody>
            {items.map((r) => (
              <tr
                key={r.id}
                data-testid="run-row"
                data-run-id={r.id}
                data-status={r.status}
                className={`clickable${selected.has(r.id) ? ' row-selected' : ''}`}
                onClick={(e) => {
                  if ((e.target as HTMLElement).closest('input,a,button')) return;
                  navigate({ view: 'run', id: r.id });
                }}
              >
                <td className="check">
                  <input type="checkbox" aria-label={`select ${r.name}`} checked={selected.has(r.id)} onChange={() => toggle(r.id)} />
                </td>
                <td>
                  <a href={runHref(r.id)} className="run-name">
                    {r.name}
                  </a>
                  <div className="muted tiny mono">{shortId(r.id)}</div>
                </td>
                <td>
                  <a href={routeHref({ view: 'runs', status: null, experiment_id: r.experiment_id, page: 0 })} className="muted-link">
                    {r.experiment_name}
                  </a>
                </td>
                <td>
                  <StatusBadge status={r.status} reason={r.reason} />
                  {r.reason && r.status !== 'succeeded' && (
                    <div className="reason tiny" title={r.reason}>
                      {r.reason}
                    </div>
                  )}
                </td>
                <td>
                  <Progress run={r} />
                </td>
                <td className="num">{fmtNum(r.last?.train_loss, 4)}</td>
                <td className="num">{fmtPct(r.last?.test_acc)}</td>
                <td className="num">{fmtNum(r.last?.macro_f1, 4)}</td>
                <td className="num">{fmtDuration(r.last?.epoch_seconds)}</td>
                <td className="num">{fmtNum(r.last?.images_per_s, 0)}</td>
                <td>{r.host_id ? hostNames.get(r.host_id) ?? shortId(r.host_id) : <span className="muted">—</span>}</td>
                <td className="muted" title={r.created_at}>
                  {fmtAgo(r.created_at, now)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {!runs.loading && !runs.error && items.length === 0 && (
        <Empty>
          No runs{route.status ? ` with status ${route.status}` : ''}. <a href="#/launch">Launch an experiment</a>.
        </Empty>
      )}
      {pages > 1 && (
        <div className="pager">
          <button type="button" className="btn btn-small" disabled={route.page === 0} onClick={() => navigate({ ...route, page: route.page - 1 })}>
            ‹ Prev
          </button>
          <span className="muted">
            page {route.page + 1} of {pages}
          </span>
          <button type="button" className="btn btn-small" disabled={route.page + 1 >= pages} onClick={() => navigate({ ...route, page: route.page + 1 })}>
            Next ›
          </button>
        </div>
      )}
    </Section>
  );
}
