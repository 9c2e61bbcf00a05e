import * as React from 'react';

import { metricSeries, polylines } from '../jobs';

const WIDTH = 240;
const HEIGHT = 60;

/**
 * One small line chart per metric (rank 0's points), in the theme's brand colour; each attempt
 * (the step went back: a restart) its own line, earlier ones faded and dashed.
 */
export function MetricChart(props: { points: Array<Record<string, unknown>>; rank0?: string }): JSX.Element {
  const series = metricSeries(props.points, props.rank0);
  if (!series.length) {
    return (
      <div className="jp-kf-empty">
        No metrics yet: print <code>loss=0.42</code> lines or call <code>jupyter_kf.report()</code>.
      </div>
    );
  }
  return (
    <div className="jp-kf-metrics">
      {series.map(s => {
        const last = s.points[s.points.length - 1];
        return (
          <figure key={s.name} className="jp-kf-metric" data-metric={s.name}>
            <figcaption>
              {s.name} <span className="jp-kf-metric-last">{last.y.toPrecision(4)}</span>
              {s.attempts.length > 1 ? <span className="jp-kf-metric-attempts"> · {s.attempts.length} attempts</span> : null}
            </figcaption>
            <svg viewBox={`-2 -2 ${WIDTH + 4} ${HEIGHT + 4}`} width="100%" height={HEIGHT} preserveAspectRatio="none">
              {polylines(s, WIDTH, HEIGHT).map((points, i, all) => (
                <polyline
                  key={i}
                  data-attempt={i + 1}
                  className={i < all.length - 1 ? 'jp-kf-attempt-old' : undefined}
                  points={points}
                />
              ))}
            </svg>
          </figure>
        );
      })}
    </div>
  );
}
