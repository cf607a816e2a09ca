// Compare any set of runs: overlaid test accuracy and train loss curves, and a table of whatever numeric
// values POST /api/compare returns (falling back to each run's latest values when it fails).

import { useMemo, useState } from 'react';
import type { RunView } from '@contracts/api';
import { Chart } from '../components/Chart';
import { Empty, ErrorBox, Section, StatusBadge } from '../components/bits';
import { api, errorText, isAbort } from '../lib/api';
import { bestRow, columnLabel, compareNotes, flatten, looksLikeFraction, numericColumns, rowId, rowLabel, type Flat } from '../lib/compare';
import { fmtNum, fmtPct, shortId } from '../lib/format';
import { useLoad } from '../lib/hooks';
import { navigate, runHref } from '../lib/route';
import { alignLines, countFinite, lineFor, seriesFromView, type SeriesMap, type XKind } from '../lib/series';

const PALETTE = ['#2563eb', '#ea580c', '#059669', '#9333ea', '#dc2626', '#0891b2', '#ca8a04', '#db2777', '#4b5563', '#65a30d'];

interface Loaded {
  run: RunView | null;
  series: SeriesMap;
  error: string | null;
}

async function loadOne(id: string, signal: AbortSignal): Promise<Loaded> {
  try {
    const [run, metrics] = await Promise.all([api.run(id, signal), api.metrics(id, 500, signal)]);
    return { run, series: seriesFromView(metrics), error: null };
  } catch (err) {
    if (isAbort(err)) throw err;
    return { run: null, series: {}, error: errorText(err) };
  }
}

function fallbackRows(loaded: Loaded[], ids: string[]): Flat[] {
  return loaded.map((l, i) => (l.run ? flatten({ id: l.run.id, name: l.run.name, ...l.run.last, epochs_completed: l.run.epochs_completed }) : { id: ids[i] }));
}

function fmtCell(col: string, v: unknown): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '—';
  if (looksLikeFraction(col) && v >= 0 && v <= 1) return fmtPct(v);
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  return fmtNum(v, 4);
}

export function CompareView({ ids }: { ids: string[] }) {
  const key = ids.join(',');
  const runs = useLoad((signal) => Promise.all(ids.map((id) => loadOne(id, signal))), [key]);
  const compare = useLoad((signal) => (ids.length ? api.compare(ids, signal) : Promise.resolve(null)), [key]);
  const [xKind, setXKind] = useState<XKind>('epoch');

  const loaded = runs.data ?? [];
  const names = ids.map((id, i) => loaded[i]?.run?.name ?? shortId(id));
  const colors = ids.map((_, i) => PALETTE[i % PALETTE.length]!);

  const curves = useMemo(() => {
    const mk = (key: string) => {
      const data = alignLines(loaded.map((l) => lineFor(l.series[key], xKind)));
      const points = data.slice(1).reduce((a, c) => a + countFinite(c), 0);
      return { data, points };
    };
    return { acc: mk('test_acc'), loss: mk('train_loss') };
  }, [loaded, xKind]);

  const rows: Flat[] = useMemo(() => {
    if (compare.data && compare.data.runs.length) return compare.data.runs.map((r) => flatten(r));
    return fallbackRows(loaded, ids);
  }, [compare.data, loaded, ids]);
  const cols = numericColumns(rows);
  const nameOf = (id: string) => {
    const at = ids.indexOf(id);
    if (at >= 0) return names[at] ?? id;
    const row = rows.find((r) => rowId(r) === id);
    return row ? rowLabel(row) : shortId(id);
  };
  const notes = compare.data ? compareNotes(compare.data, nameOf) : [];
  const fracAcc = loaded.every((l) => (l.series.test_acc?.value ?? []).every((v) => !Number.isFinite(v) || (v >= 0 && v <= 1.0001)));

  if (ids.length === 0) {
    return (
      <Section title="Compare runs">
        <Empty>
          Select runs with the checkboxes in the <a href="#/runs">runs table</a>, then press Compare.
        </Empty>
      </Section>
    );
  }
  const remove = (id: string) => navigate({ view: 'compare', ids: ids.filter((x) => x !== id) });
  const lines = names.map((n, i) => ({ label: n, color: colors[i]! }));

  return (
    <div className="stack" data-testid="compare-view">
      <Section
        title={`Compare ${ids.length} run${ids.length === 1 ? '' : 's'}`}
        actions={
          <div className="seg" role="group" aria-label="x axis">
            {(['epoch', 'step', 'time'] as XKind[]).map((k) => (
              <button key={k} type="button" className={xKind === k ? 'on' : ''} onClick={() => setXKind(k)}>
                {k}
              </button>
            ))}
          </div>
        }
      >
        <div className="legend-runs">
          {ids.map((id, i) => (
            <span key={id} className="legend-run">
              <span className="swatch" style={{ background: colors[i] }} />
              <a href={runHref(id)}>{names[i]}</a>
              {loaded[i]?.run && <StatusBadge status={loaded[i]!.run!.status} />}
              {loaded[i]?.error && <span className="field-error">{loaded[i]!.error}</span>}
              <button type="button" className="link-btn" title="remove from comparison" onClick={() => remove(id)}>
                ×
              </button>
            </span>
          ))}
        </div>
        {runs.error && <ErrorBox onRetry={runs.reload}>{runs.error}</ErrorBox>}
        <div className="charts charts-2">
          <Chart
            testId="compare-test_acc"
            title={`Test accuracy${xKind === 'epoch' ? ' (per epoch)' : ''}`}
            data={curves.acc.data}
            lines={lines}
            xKind={xKind}
            points={curves.acc.points}
            yFormat={fracAcc ? (v) => `${+(v * 100).toFixed(1)}%` : undefined}
            height={260}
          />
          <Chart
            testId="compare-train_loss"
            title={`Train loss${xKind === 'epoch' ? ' (last value per epoch)' : ''}`}
            data={curves.loss.data}
            lines={lines}
            xKind={xKind}
            points={curves.loss.points}
            height={260}
          />
        </div>
      </Section>
      <Section
        title="Metrics"
        actions={
          <>
            {compare.loading && <span className="muted small">comparing…</span>}
            <button
              type="button"
              className="btn btn-small"
              onClick={() => {
                runs.reload();
                compare.reload();
              }}
            >
              Refresh
            </button>
          </>
        }
      >
        {compare.error && <ErrorBox onRetry={compare.reload}>Server comparison failed ({compare.error}); showing each run's latest values.</ErrorBox>}
        <div className="table-scroll">
          <table className="table compact compare" data-testid="compare-table">
            <thead>
              <tr>
                <th>Run</th>
                {cols.map((c) => (
                  <th key={c} className="num" title={c}>
                    {columnLabel(c)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((r, i) => {
                const id = rowId(r);
                const at = id ? ids.indexOf(id) : i;
                return (
                  <tr key={id ?? i}>
                    <td className="compare-run">
                      <span className="swatch" style={{ background: colors[at >= 0 ? at : i] }} />
                      {id ? <a href={runHref(id)}>{at >= 0 ? names[at] : rowLabel(r)}</a> : rowLabel(r)}
                      {typeof r.variant === 'string' && <div className="muted tiny">{r.variant}</div>}
                    </td>
                    {cols.map((c) => (
                      <td key={c} className={`num${bestRow(rows, c) === i ? ' best' : ''}`}>
                        {fmtCell(c, r[c])}
                      </td>
                    ))}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
        {cols.length === 0 && !compare.loading && <Empty>No numeric values to compare yet.</Empty>}
        {notes.length > 0 && (
          <ul className="notes" data-testid="compare-notes">
            {notes.map((n, i) => (
              <li key={i} className={`note note-${n.kind}`}>
                {n.text}
              </li>
            ))}
          </ul>
        )}
        <p className="muted small">Best value per column in bold (lower is better for loss, time and cost columns).</p>
      </Section>
    </div>
  );
}
