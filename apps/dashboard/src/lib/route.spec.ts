import { describe, expect, it } from '@jest/globals';
import { parseRoute, routeHref, type Route } from './route';

describe('parseRoute', () => {
  it('defaults to the runs table', () => {
    expect(parseRoute('')).toEqual({ view: 'runs', status: null, experiment_id: null, page: 0 });
    expect(parseRoute('#/')).toEqual({ view: 'runs', status: null, experiment_id: null, page: 0 });
  });

  it('reads a run id, decoding it', () => {
    expect(parseRoute('#/runs/abc-123')).toEqual({ view: 'run', id: 'abc-123' });
    expect(parseRoute('#/runs/a%2Fb')).toEqual({ view: 'run', id: 'a/b' });
  });

  it('reads compare ids, dropping blanks and duplicates', () => {
    expect(parseRoute('#/compare?ids=a,b,,a, c')).toEqual({ view: 'compare', ids: ['a', 'b', 'c'] });
    expect(parseRoute('#/compare')).toEqual({ view: 'compare', ids: [] });
  });

  it('keeps only known statuses and sane pages in the runs filter', () => {
    expect(parseRoute('#/runs?status=running&experiment=e1&page=2')).toEqual({ view: 'runs', status: 'running', experiment_id: 'e1', page: 2 });
    expect(parseRoute('#/runs?status=bogus&page=-3')).toEqual({ view: 'runs', status: null, experiment_id: null, page: 0 });
    expect(parseRoute('#/runs?page=1.5').view === 'runs' && (parseRoute('#/runs?page=1.5') as { page: number }).page).toBe(0);
  });

  it('knows hosts and launch, and reports anything else as not found', () => {
    expect(parseRoute('#/hosts')).toEqual({ view: 'hosts' });
    expect(parseRoute('#/launch')).toEqual({ view: 'launch' });
    expect(parseRoute('#/nope/x')).toEqual({ view: 'not-found', hash: '/nope/x' });
  });

  it('does not throw on a malformed escape', () => {
    expect(parseRoute('#/runs/%E0%A4%A')).toEqual({ view: 'run', id: '%E0%A4%A' });
  });
});

describe('routeHref', () => {
  const cases: Route[] = [
    { view: 'runs', status: null, experiment_id: null, page: 0 },
    { view: 'runs', status: 'failed', experiment_id: 'exp 1', page: 3 },
    { view: 'run', id: 'r/1' },
    { view: 'compare', ids: ['a', 'b,c'] },
    { view: 'hosts' },
    { view: 'launch' },
  ];
  it.each(cases)('round-trips %j', (r) => {
    expect(parseRoute(routeHref(r))).toEqual(r);
  });

  it('writes the brief URL forms', () => {
    expect(routeHref({ view: 'compare', ids: ['a', 'b'] })).toBe('#/compare?ids=a,b');
    expect(routeHref({ view: 'run', id: 'x' })).toBe('#/runs/x');
    expect(routeHref({ view: 'runs', status: null, experiment_id: null, page: 0 })).toBe('#/runs');
  });
});
