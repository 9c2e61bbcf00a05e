import { Button, HTMLSelect } from '@jupyterlab/ui-components';
import * as React from 'react';

import { IJobSummary, SORT_KEYS, SortKey, formatAge, jobKey, replicaSummary, visibleJobs } from '../jobs';
import { PhaseBadge } from './PhaseBadge';
import { useNow } from './useNow';

/**
 * The jobs: filtered by a search, sorted, each with a check box for bulk delete; clicking
 * one opens its detail view, right-clicking it opens Lab's context menu (index.ts).
 */
export function JobList(props: {
  jobs: IJobSummary[];
  selected: string | null;
  onSelect: (name: string) => void;
  onDelete: (names: string[]) => Promise<void>;
  loaded: boolean;
}): JSX.Element {
  const now = useNow(); // ages tick while the list shows
  const [query, setQuery] = React.useState('');
  const [sort, setSort] = React.useState<SortKey>('newest');
  const [checked, setChecked] = React.useState<Set<string>>(new Set());
  const [busy, setBusy] = React.useState(false);
  // Only jobs still listed stay checked (one may be deleted elsewhere).
  const names = new Set(props.jobs.map(j => j.name));
  const marked = [...checked].filter(n => names.has(n));

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
  const toggle = (name: string) =>
    setChecked(old => {
      const next = new Set(old);
      if (next.has(name)) {
        next.delete(name);
      } else {
        next.add(name);
      }
      return next;
    });
  const allShown = shown.length > 0 && shown.every(j => checked.has(j.name));
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
          onChange={() => setChecked(allShown ? new Set() : new Set(shown.map(j => j.name)))}
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
            aria-selected={props.selected === job.name}
            className={`jp-kf-job${props.selected === job.name ? ' jp-mod-selected' : ''}`}
            data-job={job.name}
            title={job.status.message || job.name}
            onClick={() => props.onSelect(job.name)}
          >
            <div className="jp-kf-job-line">
              <input
                type="checkbox"
                aria-label={`Select ${job.name}`}
                checked={checked.has(job.name)}
                onClick={e => e.stopPropagation()}
                onChange={() => toggle(job.name)}
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
