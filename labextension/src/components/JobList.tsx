import * as React from 'react';

import { IJobSummary, formatAge, jobKey, replicaSummary } from '../jobs';
import { PhaseBadge } from './PhaseBadge';
import { useNow } from './useNow';

/** The jobs, newest first; clicking one opens its detail view. */
export function JobList(props: {
  jobs: IJobSummary[];
  selected: string | null;
  onSelect: (name: string) => void;
  loaded: boolean;
}): JSX.Element {
  const now = useNow(); // ages tick while the list shows
  if (!props.loaded) {
    return <div className="jp-kf-empty">Loading jobs…</div>;
  }
  if (!props.jobs.length) {
    return (
      <div className="jp-kf-empty">
        No training jobs yet. Launch one with <b>New job</b>, the <code>%kftrain</code> magic or{' '}
        <code>jupyter kf submit</code>.
      </div>
    );
  }
  return (
    <ul className="jp-kf-list" role="listbox" aria-label="Training jobs">
      {props.jobs.map(job => (
        <li
          key={jobKey(job)}
          role="option"
          aria-selected={props.selected === job.name}
          className={`jp-kf-job${props.selected === job.name ? ' jp-mod-selected' : ''}`}
          data-job={job.name}
          title={job.status.message || job.name}
          onClick={() => props.onSelect(job.name)}
        >
          <div className="jp-kf-job-line">
            <span className="jp-kf-job-name">{job.name}</span>
            <PhaseBadge phase={job.status.phase} />
          </div>
          <div className="jp-kf-job-meta">
            <span>{job.kind}</span>
            <span>{job.workers ?? '?'} workers</span>
            <span>{replicaSummary(job)}</span>
            <span className="jp-kf-age">{formatAge(job.created, now)}</span>
          </div>
        </li>
      ))}
    </ul>
  );
}
