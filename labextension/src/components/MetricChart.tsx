import * as React from 'react';

import { metricSeries, polyline } from '../jobs';

const WIDTH = 240;
const HEIGHT = 60;

/** One small line chart per metric (rank 0's points), in the theme's brand colour. */
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
            </figcaption>
            <svg viewBox={`-2 -2 ${WIDTH + 4} ${HEIGHT + 4}`} width="100%" height={HEIGHT} preserveAspectRatio="none">
              <polyline points={polyline(s.points, WIDTH, HEIGHT)} />
            </svg>
          </figure>
        );
      })}
    </div>
  );
}
