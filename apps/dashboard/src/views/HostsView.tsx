// Hosts and their devices: liveness, labels, per-GPU utilization / memory / temperature, and which runs
// occupy each device.

import type { HostDeviceView, HostHistoryView, HostView, RunView } from '@contracts/api';
import { api } from '../lib/api';
import { Empty, ErrorBox, Meter, Section } from '../components/bits';
import { fmtAgo, fmtMb, shortId } from '../lib/format';
import { useInterval, useLoad, useNow, useRuns, type Loadable } from '../lib/hooks';
import { runHref } from '../lib/route';

function tempClass(t: number | null): string {
  if (t === null) return '';
  if (t >= 85) return 'temp-hot';
  if (t >= 75) return 'temp-warm';
  return '';
}

type DeviceHistory = HostHistoryView['devices'][string];

/** Utilization over the last hour as a tiny line (0-100 %); gaps where a sample had no value. */
function Sparkline({ history }: { history: DeviceHistory | undefined }) {
  const values = history?.utilization_pct ?? [];
  const at = history?.at ?? [];
  if (values.length < 2) return <span className="sparkline muted small" data-testid="device-sparkline" data-points={values.length}>no history</span>;
  const t0 = at[0];
  const span = Math.max(at[at.length - 1] - t0, 1);
  const W = 90;
  const H = 22;
  const pts = values
    .map((v, i) => (v === null ? null : `${(((at[i] - t0) / span) * W).toFixed(1)},${(H - (Math.min(Math.max(v, 0), 100) / 100) * H).toFixed(1)}`))
    .filter((p): p is string => p !== null);
  return (
    <svg className="sparkline" data-testid="device-sparkline" data-points={values.length} width={W} height={H} viewBox={`0 0 ${W} ${H}`} role="img">
      <title>utilization, last hour</title>
      <polyline points={pts.join(' ')} fill="none" stroke="currentColor" strokeWidth="1.5" />
    </svg>
  );
}

function DeviceRow({ d, host, runNames, history }: { d: HostDeviceView; host: HostView; runNames: Map<string, string>; history?: DeviceHistory }) {
  const s = d.stats;
  // A CPU device often has no stats of its own; the host's CPU and RAM figures describe it.
  const cpu = d.kind === 'cpu';
  const memTotal = s?.memory_total_mb ?? d.memory_total_mb ?? null;
  const util = s?.utilization_pct ?? (cpu ? host.cpu_pct : null);
  const mem = s?.memory_used_mb ?? (cpu ? host.mem_used_mb : null);
  const temp = s?.temperature_c ?? null;
  return (
    <div className="device" data-testid="device-row" data-index={d.index}>
      <div className="device-name" title={d.name}>
        <span className={`chip chip-${d.kind}`}>{d.kind === 'cuda' ? `GPU ${d.index}` : 'CPU'}</span>
        <span className="ellipsis">{d.name}</span>
      </div>
      <Meter value={util} max={100} label={util === null ? 'util —' : `util ${Math.round(util)}%`} />
      <Sparkline history={history} />
      <Meter value={mem} max={memTotal} label={mem === null ? `mem — / ${fmtMb(memTotal)}` : `${fmtMb(mem)} / ${fmtMb(memTotal)}`} />
      <div className={`device-temp ${tempClass(temp)}`}>{temp === null ? '—' : `${Math.round(temp)}°C`}</div>
      <div className="device-runs">
        {d.run_ids?.length ? (
          d.run_ids.map((id) => (
            <a key={id} href={runHref(id)} className="run-link" title={id}>
              {runNames.get(id) ?? shortId(id)}
            </a>
          ))
        ) : (
          <span className="muted">idle</span>
        )}
      </div>
    </div>
  );
}

/** A host's devices with their stats history (refreshed every 30 s; history is sampled every ~10 s). */
function HostDevices({ host, runNames }: { host: HostView; runNames: Map<string, string> }) {
  const history = useLoad((signal) => api.hostHistory(host.id, 60, 90, signal), [host.id]);
  useInterval(history.reload, 30_000);
  if (host.devices.length === 0) return <span className="muted">no devices reported</span>;
  return (
    <>
      {host.devices.map((d) => (
        <DeviceRow key={`${d.kind}-${d.index}`} d={d} host={host} runNames={runNames} history={history.data?.devices[String(d.index)]} />
      ))}
    </>
  );
}

export function HostsView({ hosts }: { hosts: Loadable<HostView[]> }) {
  const now = useNow(1000);
  const active = useRuns({ status: 'running', limit: 200 });
  const runNames = new Map<string, string>((active.data?.items ?? []).map((r: RunView) => [r.id, r.name]));
  const list = [...(hosts.data ?? [])].sort((a, b) => (a.status === b.status ? a.name.localeCompare(b.name) : a.status === 'online' ? -1 : 1));

  return (
    <Section
      title="Hosts & devices"
      actions={
        <button type="button" className="btn btn-small" onClick={hosts.reload}>
          Refresh
        </button>
      }
    >
      {hosts.error && <ErrorBox onRetry={hosts.reload}>Could not load hosts: {hosts.error}</ErrorBox>}
      {!hosts.error && !hosts.loading && list.length === 0 && (
        <Empty>No worker has connected yet. Start one with the python-bridge agent pointing at this orchestrator.</Empty>
      )}
      <table className="table hosts" data-testid="hosts-table">
        <thead>
          <tr>
            <th style={{ width: '17%' }}>Host</th>
            <th>Status</th>
            <th>Devices</th>
            <th className="num">CPU</th>
            <th className="num">RAM used</th>
            <th>Software</th>
            <th>Last seen</th>
          </tr>
        </thead>
        <tbody>
          {list.map((h) => (
            <tr key={h.id} data-testid="host-row" data-host-id={h.id} data-status={h.status} className={h.status === 'offline' ? 'row-dim' : ''}>
              <td>
                <div className="host-name">{h.name}</div>
                <div className="labels">
                  {h.labels.map((l) => (
                    <span key={l} className="chip">
                      {l}
                    </span>
                  ))}
                  <span className="muted small">{h.cpu_slots} CPU slot{h.cpu_slots === 1 ? '' : 's'}</span>
                </div>
              </td>
              <td>
                <span className={`badge host-${h.status}`}>{h.status}</span>
              </td>
              <td className="devices-cell">
                <HostDevices host={h} runNames={runNames} />
              </td>
              <td className="num">{h.cpu_pct === null ? '—' : `${Math.round(h.cpu_pct)}%`}</td>
              <td className="num">{fmtMb(h.mem_used_mb)}</td>
              <td className="small">
                {Object.entries(h.versions ?? {})
                  .filter(([, v]) => v)
                  .map(([k, v]) => (
                    <div key={k}>
                      <span className="muted">{k}</span> {v}
                    </div>
                  ))}
              </td>
              <td title={h.last_seen ?? ''}>{fmtAgo(h.last_seen, now)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}
