// uPlot line chart. The chart object is created once per line set and fed new data with setData, so
// live points cost a redraw, not a rebuild. data-points on the container tells tests how many points
// of the primary line are plotted.

import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { XKind } from '../lib/series';
import { fmtDuration } from '../lib/format';

export interface ChartLine {
  label: string;
  color: string;
  dash?: number[];
  width?: number;
}

export interface ChartProps {
  testId?: string;
  title: string;
  data: uPlot.AlignedData;
  lines: readonly ChartLine[];
  xKind: XKind;
  /** Reported as data-points: the plotted point count of the line the chart is named for. */
  points: number;
  height?: number;
  yFormat?: (v: number) => string;
  yRange?: [number, number];
  logY?: boolean;
  empty?: string;
}

const X_LABEL: Record<XKind, string> = { step: 'step', epoch: 'epoch', time: 'elapsed' };

function formatX(kind: XKind, v: number): string {
  if (kind === 'time') return fmtDuration(v);
  if (kind === 'epoch') return Number.isInteger(v) ? String(v) : '';
  return Math.abs(v) >= 10_000 ? `${(v / 1000).toFixed(0)}k` : String(v);
}

export function Chart(props: ChartProps) {
  const { testId, title, data, lines, xKind, points, height = 220, yFormat, yRange, logY, empty } = props;
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const dataRef = useRef(data);
  dataRef.current = data;
  const signature = JSON.stringify([lines, xKind, yRange, logY, height]);

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const fmtY = yFormat ?? ((v: number) => (Math.abs(v) >= 1000 ? v.toExponential(1) : String(+v.toPrecision(4))));
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      legend: { live: true },
      cursor: { drag: { x: true, y: false, setScale: true } },
      scales: {
        x: { time: false },
        y: logY ? { distr: 3 } : yRange ? { range: yRange } : { auto: true },
      },
      axes: [
        {
          stroke: '#6b7280',
          grid: { stroke: '#eef0f3', width: 1 },
          ticks: { stroke: '#e5e7eb', width: 1 },
          values: (_u, splits) => splits.map((v) => formatX(xKind, v)),
          font: '11px system-ui, sans-serif',
        },
        {
          stroke: '#6b7280',
          grid: { stroke: '#eef0f3', width: 1 },
          ticks: { stroke: '#e5e7eb', width: 1 },
          values: (_u, splits) => splits.map((v) => (v == null ? '' : fmtY(v))),
          font: '11px system-ui, sans-serif',
          size: 52,
        },
      ],
      series: [
        { label: X_LABEL[xKind], value: (_u, v) => (v == null ? '—' : formatX(xKind === 'epoch' ? 'step' : xKind, v)) },
        ...lines.map((l) => ({
          label: l.label,
          stroke: l.color,
          width: l.width ?? 1.6,
          dash: l.dash,
          spanGaps: true,
          points: { show: (u: uPlot, si: number) => (u.data[si]?.length ?? 0) <= 60, size: 4 } as uPlot.Series.Points,
          value: (_u: uPlot, v: number | null) => (v == null ? '—' : fmtY(v)),
        })),
      ],
    };
    const u = new uPlot(opts, dataRef.current, el);
    plot.current = u;
    const ro = new ResizeObserver(() => {
      const w = el.clientWidth;
      if (w > 0 && Math.abs(w - u.width) > 1) u.setSize({ width: w, height });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
    // The chart is rebuilt only when its configuration changes; data goes through setData below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [signature]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  const hasData = data[0].length > 0;
  return (
    <div className="chart-card">
      <div className="chart-title">{title}</div>
      <div className="chart-body">
        <div ref={host} data-testid={testId} data-points={points} className="chart-host" />
        {!hasData && <div className="chart-empty">{empty ?? 'no points yet'}</div>}
      </div>
    </div>
  );
}
