// Confusion-matrix heatmap (rows: true class, columns: predicted) with a counts / row-% toggle. Colour
// encodes the row fraction in both modes, so a rare class's mistakes are as visible as a common one's.

import { useState } from 'react';
import { matrixProblem, rowNormalize, rowTotals } from '../lib/confusion';

export function ConfusionMatrix({ matrix, classNames }: { matrix: number[][]; classNames: string[] }) {
  const [mode, setMode] = useState<'counts' | 'percent'>('counts');
  const problem = matrixProblem(matrix, classNames.length);
  if (problem) return <div className="error-box">Cannot draw the confusion matrix: {problem}.</div>;
  const norm = rowNormalize(matrix);
  const totals = rowTotals(matrix);
  const colTotals = classNames.map((_, j) => matrix.reduce((a, row) => a + row[j]!, 0));

  return (
    <div className="cm-wrap">
      <div className="cm-toolbar">
        <div className="seg">
          <button type="button" className={mode === 'counts' ? 'on' : ''} onClick={() => setMode('counts')}>
            counts
          </button>
          <button type="button" className={mode === 'percent' ? 'on' : ''} onClick={() => setMode('percent')}>
            row %
          </button>
        </div>
        <span className="muted small">rows: true class · columns: predicted</span>
      </div>
      <div className="cm-scroll">
        <table className="cm" data-testid="confusion-matrix" data-classes={classNames.length}>
          <thead>
            <tr>
              <th className="cm-corner">true \ pred</th>
              {classNames.map((c, j) => (
                <th key={j} className="cm-col" title={c}>
                  <span>{c}</span>
                </th>
              ))}
              <th className="cm-total">n</th>
            </tr>
          </thead>
          <tbody>
            {matrix.map((row, i) => (
              <tr key={i}>
                <th className="cm-row" title={classNames[i]}>
                  {classNames[i]}
                </th>
                {row.map((v, j) => {
                  const f = norm[i]![j]!;
                  const diag = i === j;
                  // Diagonal in blue, confusions in red; alpha follows the row fraction.
                  const bg = f > 0 ? (diag ? `rgba(37, 99, 235, ${0.08 + 0.82 * f})` : `rgba(220, 38, 38, ${0.1 + 0.9 * Math.min(1, f * 2.5)})`) : undefined;
                  const dark = diag ? f > 0.55 : f > 0.3;
                  return (
                    <td
                      key={j}
                      className={`cm-cell${diag ? ' cm-diag' : ''}${dark ? ' cm-dark' : ''}`}
                      style={{ background: bg }}
                      title={`true ${classNames[i]} → predicted ${classNames[j]}: ${v} (${(f * 100).toFixed(1)}% of ${totals[i]})`}
                    >
                      {mode === 'counts' ? v : f > 0 ? (f * 100).toFixed(f >= 0.1 ? 0 : 1) : '·'}
                    </td>
                  );
                })}
                <td className="cm-total">{totals[i]}</td>
              </tr>
            ))}
            <tr>
              <th className="cm-row muted">predicted n</th>
              {colTotals.map((t, j) => (
                <td key={j} className="cm-total">
                  {t}
                </td>
              ))}
              <td className="cm-total">{totals.reduce((a, b) => a + b, 0)}</td>
            </tr>
          </tbody>
        </table>
      </div>
    </div>
  );
}
