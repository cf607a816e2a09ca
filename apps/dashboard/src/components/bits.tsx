// Small shared pieces: status badge, meter bar, error and empty states.

import type { ReactNode } from 'react';
import type { RunStatus } from '@contracts/api';

export function StatusBadge({ status, testId, reason }: { status: RunStatus | string; testId?: string; reason?: string | null }) {
  return (
    <span className={`badge status-${status}`} data-testid={testId} data-status={status} title={reason ?? undefined}>
      {status}
    </span>
  );
}

/** A horizontal bar for utilization or memory: value/max with a label inside. */
export function Meter({ value, max, label, warnAt = 0.9 }: { value: number | null; max: number | null; label: string; warnAt?: number }) {
  const frac = value !== null && max !== null && max > 0 ? Math.min(1, Math.max(0, value / max)) : null;
  return (
    <div className={`meter${frac !== null && frac >= warnAt ? ' meter-warn' : ''}`} title={label}>
      <div className="meter-fill" style={{ width: `${(frac ?? 0) * 100}%` }} />
      <span className="meter-label">{label}</span>
    </div>
  );
}

export function ErrorBox({ children, onRetry }: { children: ReactNode; onRetry?: () => void }) {
  return (
    <div className="error-box" role="alert">
      <span>{children}</span>
      {onRetry && (
        <button type="button" className="btn btn-small" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

export function Section({ title, actions, children, className }: { title: ReactNode; actions?: ReactNode; children: ReactNode; className?: string }) {
  return (
    <section className={`panel${className ? ` ${className}` : ''}`}>
      <header className="panel-head">
        <h2>{title}</h2>
        {actions && <div className="panel-actions">{actions}</div>}
      </header>
      <div className="panel-body">{children}</div>
    </section>
  );
}

export function KV({ items }: { items: [string, ReactNode][] }) {
  return (
    <dl className="kv">
      {items.map(([k, v]) => (
        <div key={k} className="kv-item">
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}
