import { Button, HTMLSelect } from '@jupyterlab/ui-components';
import * as React from 'react';

import { IJobSummary, SORT_KEYS, SortKey, formatAge, jobId, jobKey, replicaSummary, visibleJobs } from '../jobs';
import { PhaseBadge } from './PhaseBadge';
import { useNow } from './useNow';

/**
 * The jobs: filtered by a search, sorted, each with a check box for bulk delete; clicking
 * one opens its detail view, right-clicking it opens Lab's context menu (index.ts). Jobs
 * are told apart by jobId (kind/name): a PyTorchJob and a TrainJob may share a name.
 */
export function JobList(props: {
  jobs: IJobSummary[];
  /** The selected job's jobId. */
  selected: string | null;
  onSelect: (id: string) => void;
  /** The checked jobs' jobIds. */
  onDelete: (ids: string[]) => Promise<void>;
  loaded: boolean;
}): JSX.Element {
  const now = useNow(); // ages tick while the list shows
  const [query, setQuery] = React.useState('');
  const [sort, setSort] = React.useState<SortKey>('newest');
  const [checked, setChecked] = React.useState<Set<string>>(new Set());
  const [busy, setBusy] = React.useState(false);
  // Only jobs still listed stay checked (one may be deleted elsewhere).
  const ids = new Set(props.jobs.map(jobId));
  const marked = [...checked].filter(id => ids.has(id));

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
  const shown = visibleJobs(props.jobs, query, sort);
  const toggle = (id: string) =>
    setChecked(old => {
      const next = new Set(old);
      if (next.has(id)) {
        next.delete(id);
      } else {
        next.add(id);
      }
      return next;
    });
  const allShown = shown.length > 0 && shown.every(j => checked.has(jobId(j)));
  const remove = async () => {
    setBusy(true);
    try {
      await props.onDelete(marked);
      setChecked(new Set());
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="jp-kf-listview">
      <div className="jp-kf-row jp-kf-list-tools">
        <input
          type="checkbox"
          aria-label="Select all shown"
          title="Select all shown"
          checked={allShown}
          onChange={() => setChecked(allShown ? new Set() : new Set(shown.map(jobId)))}
        />
        <input
          className="jp-mod-styled jp-kf-search"
          type="search"
          name="search"
          placeholder="Filter: name, kind, phase…"
          aria-label="Filter jobs"
          value={query}
          onChange={e => setQuery(e.currentTarget.value)}
        />
        <HTMLSelect
          name="sort"
          aria-label="Sort jobs"
          value={sort}
          options={Object.entries(SORT_KEYS).map(([value, label]) => ({ value, label }))}
          onChange={e => setSort(e.currentTarget.value as SortKey)}
        />
      </div>
      {marked.length ? (
        <div className="jp-kf-row jp-kf-bulk">
          <span>{marked.length} selected</span>
          <Button small className="jp-mod-warn" disabled={busy} onClick={() => void remove()}>
            {busy ? 'Deleting…' : `Delete ${marked.length}`}
          </Button>
        </div>
      ) : null}
      {shown.length ? null : <div className="jp-kf-empty">No job matches “{query}”.</div>}
      <ul className="jp-kf-list" role="listbox" aria-label="Training jobs" aria-multiselectable>
        {shown.map(job => (
          <li
            key={jobKey(job)}
            role="option"
            aria-selected={props.selected === jobId(job)}
            className={`jp-kf-job${props.selected === jobId(job) ? ' jp-mod-selected' : ''}`}
            data-job={job.name}
            data-kind={job.kind}
            title={job.status.message || job.name}
            onClick={() => props.onSelect(jobId(job))}
          >
            <div className="jp-kf-job-line">
              <input
                type="checkbox"
                aria-label={`Select ${job.name} (${job.kind})`}
                checked={checked.has(jobId(job))}
                onClick={e => e.stopPropagation()}
                onChange={() => toggle(jobId(job))}
              />
              <span className="jp-kf-job-name">{job.name}</span>
              <PhaseBadge phase={job.status.phase} />
            </div>
            <div className="jp-kf-job-meta">
              <span>{job.kind}</span>
              <span>{job.workers === 1 ? '1 worker' : `${job.workers ?? '?'} workers`}</span>
              <span>{replicaSummary(job)}</span>
              <span className="jp-kf-age">{formatAge(job.created, now)}</span>
            </div>
          </li>
        ))}
      </ul>
    </div>
  );
}
