import { Button, HTMLSelect } from '@jupyterlab/ui-components';
import * as React from 'react';

import { IEvent, IJob, IJobSummary, KFApi, allowedActions, formatAge } from '../api';
import { describe } from '../model';
import { MetricChart } from './MetricChart';
import { PhaseBadge } from './PhaseBadge';

const MAX_LOG_LINES = 2000;

export interface IJobDetailProps {
  api: KFApi;
  /** The live summary from the list: a change here (an event) refreshes the details. */
  summary: IJobSummary;
  onClose: () => void;
  onChanged: (job: IJobSummary) => void;
  onDeleted: (name: string) => void;
  confirmDelete: (name: string) => Promise<boolean>;
  tailLines: number;
}

/** Conditions, replicas, events, metrics, the log tail and the actions on one job. */
export function JobDetail(props: IJobDetailProps): JSX.Element {
  const { api, summary } = props;
  const name = summary.name;
  const [job, setJob] = React.useState<IJob | null>(null);
  const [events, setEvents] = React.useState<IEvent[]>([]);
  const [metrics, setMetrics] = React.useState<Array<Record<string, unknown>>>([]);
  const [error, setError] = React.useState('');
  const [busy, setBusy] = React.useState('');
  const [workers, setWorkers] = React.useState(summary.workers ?? 1);
  const stamp = JSON.stringify(summary.status) + JSON.stringify(summary.replicas);

  // Details follow the summary, which events keep current: no polling here either.
  React.useEffect(() => {
    let live = true;
    Promise.all([api.get(name), api.events(name), api.metrics(name)])
      .then(([j, e, m]) => {
        if (live) {
          setJob(j);
          setEvents(e);
          setMetrics(m);
        }
      })
      .catch(err => live && setError(describe(err)));
    return () => {
      live = false;
    };
  }, [name, stamp]);
  React.useEffect(() => setWorkers(summary.workers ?? 1), [name, summary.workers]);

  const act = async (label: string, action: () => Promise<IJob | void>) => {
    setBusy(label);
    setError('');
    try {
      const result = await action();
      if (result) {
        setJob(result);
        props.onChanged(result);
      }
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy('');
    }
  };
  const remove = async () => {
    if (!(await props.confirmDelete(name))) {
      return;
    }
    await act('delete', async () => {
      await api.delete(name);
      props.onDeleted(name);
    });
  };
  const can = allowedActions(summary);
  const replicas = summary.replicas;

  return (
    <div className="jp-kf-detail" data-job={name}>
      <div className="jp-kf-detail-head">
        <Button minimal small onClick={props.onClose} title="Back to the list" aria-label="Back">
          ‹
        </Button>
        <span className="jp-kf-detail-name">{name}</span>
        <PhaseBadge phase={summary.status.phase} />
      </div>
      <div className="jp-kf-job-meta">
        <span>{summary.kind}</span>
        <span>{summary.namespace === summary.backend ? summary.backend : `${summary.backend} · ${summary.namespace}`}</span>
        <span>{formatAge(summary.created)} old</span>
      </div>
      {summary.status.message ? <div className="jp-kf-message">{summary.status.message}</div> : null}
      {error ? (
        <div className="jp-kf-error" role="alert">
          {error}
        </div>
      ) : null}

      <div className="jp-kf-actions jp-kf-detail-actions">
        <input
          className="jp-mod-styled jp-kf-scale-input"
          name="scale-workers"
          type="number"
          min={1}
          value={String(workers)}
          disabled={!can.scale}
          onChange={e => setWorkers(parseInt(e.currentTarget.value, 10) || 0)}
          aria-label="Workers"
        />
        <Button small disabled={!can.scale || !!busy} onClick={() => act('scale', () => api.scale(name, workers))}>
          {busy === 'scale' ? 'Scaling…' : 'Scale'}
        </Button>
        {can.resume ? (
          <Button small disabled={!!busy} onClick={() => act('resume', () => api.resume(name))}>
            Resume
          </Button>
        ) : (
          <Button small disabled={!can.suspend || !!busy} onClick={() => act('suspend', () => api.suspend(name))}>
            Suspend
          </Button>
        )}
        <Button small className="jp-mod-warn" disabled={!!busy} onClick={remove}>
          Delete
        </Button>
      </div>

      <details open className="jp-kf-section">
        <summary>Replicas</summary>
        <table className="jp-kf-table">
          <tbody>
            {replicas.map(r => (
              <tr key={r.name} data-replica={r.name}>
                <td>{r.name}</td>
                <td>
                  <PhaseBadge phase={r.phase} />
                </td>
                <td>{r.restarts ? `${r.restarts} restarts` : ''}</td>
                <td>{r.exitCode !== null && r.exitCode !== undefined ? `exit ${r.exitCode}` : r.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>

      <details open className="jp-kf-section">
        <summary>Logs</summary>
        <LogView api={api} name={name} replicas={replicas.map(r => r.name)} tailLines={props.tailLines} />
      </details>

      <details open className="jp-kf-section">
        <summary>Metrics</summary>
        <MetricChart points={metrics} />
      </details>

      <details className="jp-kf-section">
        <summary>Conditions</summary>
        <table className="jp-kf-table">
          <tbody>
            {summary.status.conditions.map((c, i) => (
              <tr key={i}>
                <td>{c.type}</td>
                <td>{c.status}</td>
                <td>{c.reason}</td>
                <td title={c.lastTransitionTime}>{formatAge(c.lastTransitionTime)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>

      <details className="jp-kf-section">
        <summary>Events ({events.length})</summary>
        <ul className="jp-kf-events">
          {events.map((e, i) => (
            <li key={i} className={e.type === 'Warning' ? 'jp-kf-warning' : ''}>
              <span className="jp-kf-event-reason">{e.reason}</span> {e.object ? `${e.object}: ` : ''}
              {e.message}
            </li>
          ))}
        </ul>
      </details>
      {job?.spec?.code ? (
        <details className="jp-kf-section">
          <summary>Code ({job.spec.code.filename})</summary>
          <pre className="jp-kf-code">{job.spec.code.source}</pre>
        </details>
      ) : null}
    </div>
  );
}

/** A replica's log: the tail, then (with Follow) new lines from the log websocket. */
export function LogView(props: { api: KFApi; name: string; replicas: string[]; tailLines: number }): JSX.Element {
  const [replica, setReplica] = React.useState(props.replicas[0] ?? '');
  const [follow, setFollow] = React.useState(true);
  const [lines, setLines] = React.useState<string[]>([]);
  const [note, setNote] = React.useState('');
  const box = React.useRef<HTMLPreElement>(null);

  React.useEffect(() => {
    if (!replica && props.replicas.length) {
      setReplica(props.replicas[0]);
    }
  }, [props.replicas.join(',')]);

  React.useEffect(() => {
    setLines([]);
    setNote('');
    if (!replica) {
      return;
    }
    if (!follow) {
      props.api
        .logs(props.name, replica, props.tailLines)
        .then(setLines)
        .catch(err => setNote(describe(err)));
      return;
    }
    const stop = props.api.followLogs(
      props.name,
      replica,
      props.tailLines,
      batch => setLines(old => [...old, ...batch].slice(-MAX_LOG_LINES)),
      err => setNote(err ?? 'End of log.')
    );
    return stop;
  }, [props.name, replica, follow]);

  React.useEffect(() => {
    if (box.current) {
      box.current.scrollTop = box.current.scrollHeight;
    }
  }, [lines]);

  return (
    <div className="jp-kf-logs">
      <div className="jp-kf-row">
        <HTMLSelect
          name="replica"
          value={replica}
          options={props.replicas}
          onChange={e => setReplica(e.currentTarget.value)}
          aria-label="Replica"
        />
        <label className="jp-kf-follow">
          <input type="checkbox" name="follow" checked={follow} onChange={e => setFollow(e.currentTarget.checked)} />{' '}
          Follow
        </label>
      </div>
      <pre className="jp-kf-log" ref={box} data-replica={replica}>
        {lines.join('\n')}
      </pre>
      {note ? <div className="jp-kf-log-note">{note}</div> : null}
    </div>
  );
}
