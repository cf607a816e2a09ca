// Hash routing (#/runs/ID, #/compare?ids=a,b, #/hosts, #/launch): the server serves one index.html at
// '/', so the path never changes and no router dependency is needed.

import { useEffect, useState } from 'react';
import type { RunStatus } from '@contracts/api';

export const RUN_STATUSES: readonly RunStatus[] = ['queued', 'assigned', 'running', 'succeeded', 'failed', 'cancelled', 'lost', 'skipped'];

export type Route =
  | { view: 'runs'; status: RunStatus | null; experiment_id: string | null; page: number }
  | { view: 'run'; id: string }
  | { view: 'compare'; ids: string[] }
  | { view: 'hosts' }
  | { view: 'launch' }
  | { view: 'not-found'; hash: string };

const isStatus = (s: string | null): s is RunStatus => s !== null && (RUN_STATUSES as readonly string[]).includes(s);

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#/, '');
  const [pathPart, queryPart = ''] = raw.split('?', 2) as [string, string?];
  const parts = pathPart.split('/').filter(Boolean).map(safeDecode);
  const q = new URLSearchParams(queryPart);
  if (parts.length === 0) return { view: 'runs', status: null, experiment_id: null, page: 0 };
  const [head, second] = parts;
  switch (head) {
    case 'runs': {
      if (second) return { view: 'run', id: second };
      const status = q.get('status');
      const page = Number(q.get('page') ?? '0');
      return {
        view: 'runs',
        status: isStatus(status) ? status : null,
        experiment_id: q.get('experiment') || null,
        page: Number.isInteger(page) && page > 0 ? page : 0,
      };
    }
    case 'compare': {
      // Split the raw value before decoding, so an id holding an escaped comma stays one id.
      const raw = /(?:^|&)ids=([^&]*)/.exec(queryPart)?.[1] ?? '';
      const ids = raw
        .split(',')
        .map((s) => safeDecode(s.replace(/\+/g, ' ')).trim())
        .filter(Boolean);
      return { view: 'compare', ids: [...new Set(ids)] };
    }
    case 'hosts':
      return { view: 'hosts' };
    case 'launch':
      return { view: 'launch' };
    default:
      return { view: 'not-found', hash: raw };
  }
}

export function routeHref(route: Route): string {
  switch (route.view) {
    case 'runs': {
      const p = new URLSearchParams();
      if (route.status) p.set('status', route.status);
      if (route.experiment_id) p.set('experiment', route.experiment_id);
      if (route.page > 0) p.set('page', String(route.page));
      const s = p.toString();
      return s ? `#/runs?${s}` : '#/runs';
    }
    case 'run':
      return `#/runs/${encodeURIComponent(route.id)}`;
    case 'compare':
      // Commas stay literal so the URL reads like the brief's #/compare?ids=a,b.
      return `#/compare?ids=${route.ids.map(encodeURIComponent).join(',')}`;
    case 'hosts':
      return '#/hosts';
    case 'launch':
      return '#/launch';
    case 'not-found':
      return `#${route.hash}`;
  }
}

export const runHref = (id: string): string => routeHref({ view: 'run', id });

export function navigate(route: Route): void {
  window.location.hash = routeHref(route);
}

export function useRoute(): Route {
  const [route, setRoute] = useState<Route>(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
