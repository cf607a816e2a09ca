// Shell: header (hosts summary, live indicator, navigation) and the view chosen by the URL hash.

import type { HostView } from '@contracts/api';
import { ErrorBoundary } from './components/ErrorBoundary';
import { useHosts } from './lib/hooks';
import { useConnection } from './lib/live';
import { routeHref, useRoute, type Route } from './lib/route';
import { CompareView } from './views/CompareView';
import { HostsView } from './views/HostsView';
import { LaunchView } from './views/LaunchView';
import { RunsView } from './views/RunsView';
import { RunView } from './views/RunView';

export function hostSummary(hosts: readonly HostView[]): { online: number; total: number; gpus: number; gpusBusy: number; cpuSlots: number } {
  let online = 0;
  let gpus = 0;
  let gpusBusy = 0;
  let cpuSlots = 0;
  for (const h of hosts) {
    if (h.status !== 'online') continue;
    online++;
    cpuSlots += h.cpu_slots ?? 0;
    for (const d of h.devices ?? []) {
      if (d.kind !== 'cuda') continue;
      gpus++;
      if (d.run_ids?.length) gpusBusy++;
    }
  }
  return { online, total: hosts.length, gpus, gpusBusy, cpuSlots };
}

function LiveIndicator() {
  const { state, error } = useConnection();
  const shown = state === 'live' ? 'live' : 'reconnecting';
  const text = state === 'live' ? 'live' : state === 'connecting' ? 'connecting…' : 'reconnecting…';
  return (
    <span className={`live live-${shown}`} data-testid="live-indicator" data-state={shown} title={error ?? (state === 'live' ? 'socket.io connected' : 'socket.io disconnected')}>
      <span className="live-dot" />
      {text}
    </span>
  );
}

const NAV: { label: string; route: Route; match: Route['view'][] }[] = [
  { label: 'Runs', route: { view: 'runs', status: null, experiment_id: null, page: 0 }, match: ['runs', 'run', 'compare'] },
  { label: 'Hosts', route: { view: 'hosts' }, match: ['hosts'] },
  { label: 'Launch', route: { view: 'launch' }, match: ['launch'] },
];

export function App() {
  const route = useRoute();
  const hosts = useHosts();
  const list = hosts.data ?? [];
  const sum = hostSummary(list);

  let body;
  switch (route.view) {
    case 'runs':
      body = <RunsView route={route} hosts={list} />;
      break;
    case 'run':
      body = <RunView key={route.id} runId={route.id} hosts={list} />;
      break;
    case 'compare':
      body = <CompareView ids={route.ids} />;
      break;
    case 'hosts':
      body = <HostsView hosts={hosts} />;
      break;
    case 'launch':
      body = <LaunchView />;
      break;
    default:
      body = (
        <div className="panel pad">
          Nothing at <code>#{route.hash}</code>. <a href="#/runs">Go to runs</a>.
        </div>
      );
  }

  return (
    <div className="app">
      <header className="topbar">
        <a className="brand" href="#/runs">
          <span className="brand-mark" />
          Trainyard
        </a>
        <nav className="nav">
          {NAV.map((n) => (
            <a key={n.label} href={routeHref(n.route)} className={n.match.includes(route.view) ? 'active' : ''}>
              {n.label}
            </a>
          ))}
        </nav>
        <div className="topbar-right">
          <a className="host-summary" href="#/hosts" title="hosts online / known">
            <strong>{sum.online}</strong>/{sum.total} hosts online
            <span className="sep">·</span>
            <strong>{sum.gpus}</strong> GPU{sum.gpus === 1 ? '' : 's'}
            {sum.gpus > 0 && <span className="muted"> ({sum.gpusBusy} busy)</span>}
            <span className="sep">·</span>
            <strong>{sum.cpuSlots}</strong> CPU slot{sum.cpuSlots === 1 ? '' : 's'}
          </a>
          <LiveIndicator />
        </div>
      </header>
      <main className="main">
        <ErrorBoundary key={routeHref(route)}>{body}</ErrorBoundary>
      </main>
    </div>
  );
}
