// One run: status and spec, live curves, evaluation per epoch (confusion matrix + per-class measures),
// log tail, layer table, cancel.

import { useEffect, useMemo, useRef, useState } from 'react';
import { TERMINAL_STATUSES, type EvaluationView, type HostView, type RunView as Run } from '@contracts/api';
import { Chart } from '../components/Chart';
import { ConfusionMatrix } from '../components/ConfusionMatrix';
import { Empty, ErrorBox, KV, Section, StatusBadge } from '../components/bits';
import { api, errorText } from '../lib/api';
import { topConfusion } from '../lib/confusion';
import { elapsedSeconds, fmtCompact, fmtDateTime, fmtDuration, fmtInt, fmtNum, fmtPct, fmtShape, shortId } from '../lib/format';
import { useLoad, useNow, useRunLive } from '../lib/hooks';
import { routeHref } from '../lib/route';
import { alignLines, countFinite, earliestWallTime, lastValue, lineFor, type SeriesMap, type XKind } from '../lib/series';

const COLORS = { train: '#2563eb', test: '#ea580c', other: '#059669' };
const PRIMARY_KEYS = new Set(['train_loss', 'test_loss', 'train_acc', 'test_acc']);

function isFractionSeries(series: SeriesMap, keys: string[]): boolean {
  for (const k of keys) for (const v of series[k]?.value ?? []) if (Number.isFinite(v) && (v > 1.0001 || v < 0)) return false;
  return true;
}

function XKindToggle({ value, onChange }: { value: XKind; onChange: (k: XKind) => void }) {
  return (
    <div className="seg" role="group" aria-label="x axis">
      {(['step', 'epoch', 'time'] as XKind[]).map((k) => (
        <button key={k} type="button" className={value === k ? 'on' : ''} onClick={() => onChange(k)}>
          {k}
        </button>
      ))}
    </div>
  );
}

function Curves({ series }: { series: SeriesMap }) {
  const [xKind, setXKind] = useState<XKind>('step');
  const otherKeys = Object.keys(series)
    .filter((k) => !PRIMARY_KEYS.has(k))
    .sort();
  const [other, setOther] = useState<string | null>(null);
  const otherKey = other && series[other] ? other : (otherKeys.find((k) => k === 'images_per_s') ?? otherKeys[0] ?? null);
  const t0 = earliestWallTime(Object.values(series));

  const loss = useMemo(() => {
    const keys = ['train_loss', ...(series.test_loss ? ['test_loss'] : [])];
    const data = alignLines(keys.map((k) => lineFor(series[k], xKind, t0)));
    return { keys, data };
  }, [series, xKind, t0]);
  const acc = useMemo(() => {
    const keys = ['train_acc', 'test_acc'];
    const data = alignLines(keys.map((k) => lineFor(series[k], xKind, t0)));
    return { keys, data, frac: isFractionSeries(series, keys) };
  }, [series, xKind, t0]);
  const extra = useMemo(() => (otherKey ? alignLines([lineFor(series[otherKey], xKind, t0)]) : null), [series, otherKey, xKind, t0]);

  const lossIdx = loss.keys.indexOf('train_loss') + 1;
  return (
    <Section title="Curves" actions={<XKindToggle value={xKind} onChange={setXKind} />}>
      <div className="charts">
        <Chart
          testId="curve-train_loss"
          title={`Loss${lastValue(series.train_loss) !== null ? ` · train ${fmtNum(lastValue(series.train_loss), 4)}` : ''}`}
          data={loss.data}
          lines={loss.keys.map((k) => ({ label: k, color: k === 'train_loss' ? COLORS.train : COLORS.test, dash: k === 'test_loss' ? [6, 4] : undefined }))}
          xKind={xKind}
          points={countFinite(loss.data[lossIdx] ?? [])}
        />
        <Chart
          testId="curve-test_acc"
          title={`Accuracy${lastValue(series.test_acc) !== null ? ` · test ${acc.frac ? fmtPct(lastValue(series.test_acc)) : fmtNum(lastValue(series.test_acc))}` : ''}`}
          data={acc.data}
          lines={[
            { label: 'train_acc', color: COLORS.train },
            { label: 'test_acc', color: COLORS.test },
          ]}
          xKind={xKind}
          points={countFinite(acc.data[2] ?? [])}
          yFormat={acc.frac ? (v) => `${+(v * 100).toFixed(1)}%` : undefined}
          empty="accuracy arrives at the end of each epoch"
        />
        {otherKey && extra && (
          <div className="chart-with-select">
            <select className="chart-select" value={otherKey} onChange={(e) => setOther(e.target.value)} aria-label="metric">
              {otherKeys.map((k) => (
                <option key={k} value={k}>
                  {k}
                </option>
              ))}
            </select>
            <Chart testId={`curve-${otherKey}`} title={otherKey} data={extra} lines={[{ label: otherKey, color: COLORS.other }]} xKind={xKind} points={countFinite(extra[1] ?? [])} />
          </div>
        )}
      </div>
    </Section>
  );
}

function Evaluations({ evaluations }: { evaluations: EvaluationView[] }) {
  const [picked, setPicked] = useState<number | null>(null);
  if (evaluations.length === 0) {
    return (
      <Section title="Evaluation">
        <Empty>No evaluation yet: the test split is evaluated at the end of every epoch.</Empty>
      </Section>
    );
  }
  // null follows the newest epoch as evaluations arrive.
  const ev = evaluations.find((e) => e.epoch === picked) ?? evaluations[evaluations.length - 1]!;
  const m = ev.measures;
  const top = topConfusion(ev.matrix);
  return (
    <Section
      title={`Evaluation · epoch ${ev.epoch}`}
      actions={
        <label className="inline-field">
          epoch
          <select data-testid="epoch-select" value={picked ?? 'latest'} onChange={(e) => setPicked(e.target.value === 'latest' ? null : Number(e.target.value))}>
            <option value="latest">latest ({evaluations[evaluations.length - 1]!.epoch})</option>
            {evaluations.map((e) => (
              <option key={e.epoch} value={e.epoch}>
                {e.epoch}
              </option>
            ))}
          </select>
        </label>
      }
    >
      {m && (
        <div className="measures">
          <Stat label="accuracy" value={fmtPct(m.accuracy)} />
          <Stat label="balanced acc" value={fmtPct(m.balanced_accuracy)} />
          <Stat label="macro F1" value={fmtNum(m.macro?.f1, 4)} />
          <Stat label="micro F1" value={fmtNum(m.micro?.f1, 4)} />
          <Stat label="weighted F1" value={fmtNum(m.weighted?.f1, 4)} />
          <Stat label="macro P / R" value={`${fmtNum(m.macro?.precision, 3)} / ${fmtNum(m.macro?.recall, 3)}`} />
          <Stat label="test loss" value={fmtNum(ev.loss, 4)} />
          <Stat label="samples" value={fmtInt(ev.samples)} />
          {top && <Stat label="top confusion" value={`${ev.class_names[top.true]} → ${ev.class_names[top.pred]} (${top.count})`} />}
        </div>
      )}
      <div className="eval-grid">
        <ConfusionMatrix matrix={ev.matrix} classNames={ev.class_names} />
        <table className="table compact per-class" data-testid="per-class-table">
          <thead>
            <tr>
              <th>Class</th>
              <th className="num">Precision</th>
              <th className="num">Recall</th>
              <th className="num">F1</th>
              <th className="num">Support</th>
            </tr>
          </thead>
          <tbody>
            {(m?.per_class ?? []).map((c) => (
              <tr key={c.class_index}>
                <td>{c.class_name}</td>
                <td className="num">
                  <Cellbar v={c.precision} />
                </td>
                <td className="num">
                  <Cellbar v={c.recall} />
                </td>
                <td className="num">
                  <Cellbar v={c.f1} />
                </td>
                <td className="num">{fmtInt(c.support)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Section>
  );
}

function Stat({ label, value }: { label: string; value: string }) {
  return (
    <div className={`stat${value.length > 14 ? ' stat-wide' : ''}`}>
      <div className="stat-label">{label}</div>
      <div className="stat-value">{value}</div>
    </div>
  );
}

function Cellbar({ v }: { v: number }) {
  const ok = Number.isFinite(v);
  return (
    <span className="cellbar">
      <span className="cellbar-fill" style={{ width: `${ok ? Math.max(0, Math.min(1, v)) * 100 : 0}%` }} />
      <span className="cellbar-text">{fmtNum(v, 3)}</span>
    </span>
  );
}

function LogTail({ logs }: { logs: { seq: number; level: string; message: string; created_at: string | null }[] }) {
  const box = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  useEffect(() => {
    const el = box.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [logs]);
  return (
    <Section title={`Log${logs.length ? ` · ${logs.length} lines` : ''}`} className="log-panel">
      <div
        className="log"
        ref={box}
        data-testid="log-tail"
        onScroll={(e) => {
          const el = e.currentTarget;
          // Follow new lines only while the reader is at the bottom.
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
        }}
      >
        {logs.length === 0 && <div className="muted">no log lines yet</div>}
        {logs.map((l) => (
          <div key={l.seq} className={`log-line log-${l.level}`}>
            <span className="log-seq">{l.seq}</span>
            <span className="log-level">{l.level}</span>
            <span className="log-msg">{l.message}</span>
          </div>
        ))}
      </div>
    </Section>
  );
}

function Layers({ runId }: { runId: string }) {
  const layers = useLoad((s) => api.layers(runId, s), [runId]);
  return (
    <Section
      title="Layers"
      actions={
        layers.data && (
          <span className="muted small">
            {fmtInt(layers.data.totals.params)} params · {fmtCompact(layers.data.totals.mult_adds)} mult-adds
          </span>
        )
      }
    >
      {layers.loading && !layers.data && <div className="muted">computing the layer table…</div>}
      {layers.error && <ErrorBox onRetry={layers.reload}>Layer table unavailable: {layers.error}</ErrorBox>}
      {layers.data && (
        <div className="table-scroll layers-scroll">
          <table className="table compact layers" data-testid="layer-table">
            <thead>
              <tr>
                <th>Layer</th>
                <th>Type</th>
                <th>Input</th>
                <th>Output</th>
                <th className="num">Params</th>
                <th className="num">Mult-adds</th>
              </tr>
            </thead>
            <tbody>
              {layers.data.rows.map((r, i) => (
                <tr key={i} className={`depth-${Math.min(r.depth, 4)}`}>
                  <td style={{ paddingLeft: `${8 + Math.max(0, r.depth) * 14}px` }} className="mono">
                    {r.name}
                  </td>
                  <td>{r.type}</td>
                  <td className="mono">{fmtShape(r.input_shape)}</td>
                  <td className="mono">{fmtShape(r.output_shape)}</td>
                  <td className="num">{r.params ? fmtInt(r.params) : <span className="muted">—</span>}</td>
                  <td className="num">{r.mult_adds ? fmtCompact(r.mult_adds) : <span className="muted">—</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}

function specSummary(run: Run): [string, string][] {
  const s = run.spec;
  if (!s) return [];
  const c1 = s.model?.conv1;
  const pre = s.model?.pretrained;
  return [
    ['model', `${s.model?.arch ?? '?'} · ${pre === true ? 'pretrained' : pre ? `weights ${pre}` : 'scratch'}`],
    ['conv1', c1 ? `${c1.kernel}×${c1.kernel} s${c1.stride} p${c1.padding}` : 'default (7×7 s2 p3)'],
    ['maxpool', s.model?.maxpool ? 'on' : 'off'],
    ['data', `${s.data?.source ?? '?'}${s.data?.train_subset ? ` · ${s.data.train_subset}/${s.data.test_subset ?? 'all'}` : ''}`],
    ['input', `${s.data?.channels ?? '?'}ch${s.data?.pad_to ? ` · pad ${s.data.pad_to}` : ''}${s.data?.resize ? ` · resize ${s.data.resize}` : ''}`],
    ['optim', `${s.optim?.name ?? '?'} lr ${s.optim?.lr ?? '?'}${s.optim?.schedule?.name && s.optim.schedule.name !== 'none' ? ` · ${s.optim.schedule.name}` : ''}`],
    ['train', `${s.train?.epochs ?? '?'} epochs · batch ${s.train?.batch_size ?? '?'} · seed ${s.train?.seed ?? '?'} · ${s.train?.precision ?? ''}`],
    ['resources', `${s.resources?.gpus ? `${s.resources.gpus} GPU` : 'CPU'}${s.resources?.labels?.length ? ` · ${s.resources.labels.join(',')}` : ''}`],
  ];
}

export function RunView({ runId, hosts }: { runId: string; hosts: HostView[] }) {
  const live = useRunLive(runId);
  const now = useNow(1000);
  const [cancelling, setCancelling] = useState(false);
  const [cancelError, setCancelError] = useState<string | null>(null);
  const run = live.run;

  if (live.error && !run) {
    return (
      <div data-testid="run-view">
        <ErrorBox>
          Could not load run {shortId(runId)}: {live.error}
        </ErrorBox>
        <a href="#/runs">← back to runs</a>
      </div>
    );
  }
  if (!run) return <div className="muted pad" data-testid="run-view">loading run…</div>;

  const terminal = (TERMINAL_STATUSES as readonly string[]).includes(run.status);
  const host = run.host_id ? hosts.find((h) => h.id === run.host_id) : undefined;
  const cancel = async () => {
    setCancelling(true);
    setCancelError(null);
    try {
      live.setRun(await api.cancel(run.id));
    } catch (err) {
      setCancelError(errorText(err));
    } finally {
      setCancelling(false);
    }
  };

  return (
    <div className="run-view" data-testid="run-view" data-run-id={run.id}>
      <div className="run-head">
        <div>
          <div className="crumbs">
            <a href="#/runs">Runs</a> /{' '}
            <a href={routeHref({ view: 'runs', status: null, experiment_id: run.experiment_id, page: 0 })}>{run.experiment_name}</a> /
          </div>
          <h1>
            {run.name} <StatusBadge status={run.status} testId="run-status" reason={run.reason} />
          </h1>
          {run.reason && <div className="reason">{run.reason}</div>}
        </div>
        <div className="run-actions">
          <a className="btn" href={routeHref({ view: 'compare', ids: [run.id] })}>
            Compare…
          </a>
          <button type="button" className="btn btn-danger" data-testid="cancel-run" disabled={terminal || cancelling} onClick={cancel}>
            {cancelling ? 'Cancelling…' : 'Cancel run'}
          </button>
        </div>
      </div>
      {cancelError && <ErrorBox>Cancel failed: {cancelError}</ErrorBox>}
      {live.error && <ErrorBox>{live.error}</ErrorBox>}
      {live.liveError && <ErrorBox>Live updates unavailable: {live.liveError}</ErrorBox>}

      <div className="summary-grid">
        <Section title="Run">
          <KV
            items={[
              ['id', <span className="mono">{run.id}</span>],
              ['host', host ? `${host.name}${run.devices.length ? ` · ${run.devices.map((d) => (d < 0 ? 'cpu' : `gpu${d}`)).join(', ')}` : ''}` : run.host_id ? shortId(run.host_id) : '—'],
              ['attempt', String(run.attempt)],
              [
                'progress',
                `${run.epochs_completed}/${run.spec?.train?.epochs ?? '?'} epochs${run.progress && run.status === 'running' ? ` · step ${run.progress.step}/${run.progress.steps_per_epoch}` : ''}`,
              ],
              ['created', fmtDateTime(run.created_at)],
              ['started', fmtDateTime(run.started_at)],
              ['ended', fmtDateTime(run.ended_at)],
              ['elapsed', fmtDuration(elapsedSeconds(run.started_at, run.ended_at, now))],
              ['last seq', String(live.lastSeq)],
            ]}
          />
        </Section>
        <Section title="Latest values">
          <div className="measures">
            <Stat label="train loss" value={fmtNum(run.last?.train_loss, 4)} />
            <Stat label="train acc" value={fmtPct(run.last?.train_acc)} />
            <Stat label="test acc" value={fmtPct(run.last?.test_acc)} />
            <Stat label="macro F1" value={fmtNum(run.last?.macro_f1, 4)} />
            <Stat label="s / epoch" value={fmtDuration(run.last?.epoch_seconds)} />
            <Stat label="images / s" value={fmtNum(run.last?.images_per_s, 0)} />
          </div>
        </Section>
        <Section title="Spec" actions={<span className="muted small mono">{run.spec_hash?.slice(0, 12)}</span>}>
          <KV items={specSummary(run)} />
          <details className="spec-json">
            <summary>full spec (JSON)</summary>
            <pre>{JSON.stringify(run.spec, null, 2)}</pre>
          </details>
        </Section>
      </div>

      <Curves series={live.series} />
      <Evaluations evaluations={live.evaluations} />
      <div className="two-col">
        <LogTail logs={live.logs} />
        <Layers runId={run.id} />
      </div>
    </div>
  );
}
