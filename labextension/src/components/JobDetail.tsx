import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import {
  IEvent,
  IJob,
  IJobSummary,
  KFApi,
  SCALE_REPLACES,
  allowedActions,
  cameBack,
  formatAge,
  jobId,
  jobProgress,
  jobRef,
  progressText,
  readableLines,
  toYaml,
  trainerProgressText,
  workersNoun
} from '../api';
import { describe } from '../model';
import { followJob } from '../stream';
import { earlierAttempts } from '../attempts';
import { LogView } from './LogView';
import { MetricChart } from './MetricChart';
import { PhaseBadge } from './PhaseBadge';
import { useNow } from './useNow';

export interface IJobDetailProps {
  api: KFApi;
  /** The live summary from the list: a change here (an event) refreshes the details. */
  summary: IJobSummary;
  onClose: () => void;
  onChanged: (job: IJobSummary) => void;
  /** The deleted job's jobId (kind/name). */
  onDeleted: (id: string) => void;
  confirmDelete: (name: string) => Promise<boolean>;
  tailLines: number;
  /** Open the launch form filled from this job, to change and launch again. */
  onClone?: (job: IJob) => void;
  /** Show this job in a tab of the main area (absent where it already is one). */
  onOpenTab?: () => void;
}

/** Conditions, replicas, events, metrics, the log tail and the actions on one job. */
export function JobDetail(props: IJobDetailProps): JSX.Element {
  const { api, summary } = props;
  const name = summary.name;
  // What the REST API is asked about: this job, never another kind's job of its name.
  const ref = jobRef(summary);
  const [job, setJob] = React.useState<IJob | null>(null);
  const [events, setEvents] = React.useState<IEvent[]>([]);
  const [metrics, setMetrics] = React.useState<Array<Record<string, unknown>>>([]);
  // When each point arrived (epoch ms): the rate of points that carry no time of their own.
  const arrived = React.useRef<number[]>([]);
  const now = useNow(); // elapsed time, ETA and age tick while the details show
  const [lines, setLines] = React.useState<string[]>([]);
  const [logNote, setLogNote] = React.useState('');
  const [error, setError] = React.useState('');
  const [busy, setBusy] = React.useState('');
  // The server's word on what an action did beyond what was asked (a TrainJob replaced).
  const [notice, setNotice] = React.useState('');
  const [workers, setWorkers] = React.useState(summary.workers ?? 1);
  const replicaNames = summary.replicas.map(r => r.name);
  // Rank 0's log is the job's: the server says which replica that is.
  const rank0 = (): string =>
    summary.rank0 !== undefined && replicaNames.includes(summary.rank0) ? summary.rank0 : replicaNames[0] ?? '';
  const [replica, setReplica] = React.useState(rank0());

  React.useEffect(() => {
    if (!replica && replicaNames.length) {
      setReplica(rank0());
    }
  }, [replicaNames.join(',')]);

  // The spec (with the job's code) once; the state follows the list's events and the stream.
  React.useEffect(() => {
    let live = true;
    api
      .get(ref)
      .then(j => live && setJob(j))
      .catch(err => live && setError(describe(err)));
    return () => {
      live = false;
    };
  }, [ref]);

  // A job that comes back (resumed) is followed anew: its stream had ended, or its log
  // started over.
  const [generation, setGeneration] = React.useState(0);
  const lastPhase = React.useRef(summary.status.phase);
  React.useEffect(() => {
    if (cameBack(lastPhase.current, summary.status.phase)) {
      setGeneration(g => g + 1);
    }
    lastPhase.current = summary.status.phase;
  }, [summary.status.phase]);

  // Events, metric points and the chosen replica's log, live from the updates stream; it
  // resumes from its last cursor after a lost connection, and ends when the job has.
  React.useEffect(() => {
    setEvents([]);
    setMetrics([]);
    arrived.current = [];
    setLines([]);
    setLogNote('');
    if (!replica) {
      return;
    }
    return followJob(
      (since, state, signal) => api.updates(ref, { since, state, replicas: [replica], signal }),
      {
        onUpdate: update => {
          setLogNote('');
          if (update.events.length) {
            setEvents(old => [...old, ...update.events]);
          }
          if (update.metrics.length) {
            const at = Date.now();
            arrived.current = [...arrived.current, ...update.metrics.map(() => at)];
            setMetrics(old => [...old, ...update.metrics]);
          }
          const added = readableLines(update.logs[replica] ?? []);
          if (added.length) {
            setLines(old => [...old, ...added].slice(-props.tailLines));
          }
          if (update.job) {
            props.onChanged(update.job);
          }
        },
        onDone: () => setLogNote('End of log.'),
        onError: (err, retrying) => setLogNote(describe(err) + (retrying ? ' (reconnecting…)' : ''))
      }
    );
  }, [ref, replica, generation]);
  React.useEffect(() => setWorkers(summary.workers ?? 1), [ref, summary.workers]);

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
  // A TrainJob cannot resize: it is replaced (training restarts), so that is said first.
  const scale = async () => {
    if (summary.kind === 'TrainJob' && workers !== summary.workers) {
      const result = await showDialog({
        title: `Scale ${name} to ${workers} nodes?`,
        body: `${SCALE_REPLACES[0].toUpperCase()}${SCALE_REPLACES.slice(1)}.`,
        buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Replace' })]
      });
      if (!result.button.accept) {
        return;
      }
    }
    await act('scale', async () => {
      const scaled = await api.scale(ref, workers);
      setNotice(scaled.extra?.notice ?? '');
      return scaled;
    });
  };
  const remove = async () => {
    if (!(await props.confirmDelete(name))) {
      return;
    }
    await act('delete', async () => {
      await api.delete(ref);
      props.onDeleted(jobId(summary));
    });
  };
  const download = async () => {
    try {
      const text = await api.logFile(ref, replica);
      const link = document.createElement('a');
      link.href = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
      link.download = `${name}-${replica}.log`;
      link.click();
      // The browser reads the blob after click() returns: revoking it at once can cancel
      // the download, so the URL lives a minute.
      const href = link.href;
      setTimeout(() => URL.revokeObjectURL(href), 60_000);
    } catch (err) {
      setError(describe(err));
    }
  };
  const can = allowedActions(summary);
  const progress = progressText(jobProgress(summary, metrics, now, arrived.current));
  const trainer = trainerProgressText(summary.extra?.progress ?? job?.extra?.progress);
  const runtime = summary.extra?.runtime ?? job?.extra?.runtime;
  const replicas = summary.replicas;
  const restartsOf = (r: string) => replicas.find(each => each.name === r)?.restarts ?? 0;

  return (
    <div className="jp-kf-detail" data-job={name} data-kind={summary.kind}>
      <div className="jp-kf-detail-head">
        <Button minimal small onClick={props.onClose} title="Back to the list" aria-label="Back">
          ‹
        </Button>
        <span className="jp-kf-detail-name">{name}</span>
        <PhaseBadge phase={summary.status.phase} />
      </div>
      <div className="jp-kf-job-meta">
        <span>{summary.kind}</span>
        {runtime ? <span title="The Trainer v2 runtime it runs on">{runtime}</span> : null}
        <span>
          {summary.workers ?? '-'} {workersNoun(summary.kind)}
        </span>
        <span>{summary.namespace === summary.backend ? summary.backend : `${summary.backend} · ${summary.namespace}`}</span>
        <span>{formatAge(summary.created, now)} old</span>
      </div>
      {progress ? <div className="jp-kf-progress">{progress}</div> : null}
      {trainer ? <div className="jp-kf-progress jp-kf-trainer-progress">{trainer}</div> : null}
      {notice ? <div className="jp-kf-message jp-kf-notice">{notice}</div> : null}
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
          aria-label={summary.kind === 'TrainJob' ? 'Nodes' : 'Workers'}
        />
        <Button small disabled={!can.scale || !!busy} onClick={scale}>
          {busy === 'scale' ? 'Scaling…' : 'Scale'}
        </Button>
        {can.resume ? (
          <Button small disabled={!!busy} onClick={() => act('resume', () => api.resume(ref))}>
            Resume
          </Button>
        ) : (
          <Button small disabled={!can.suspend || !!busy} onClick={() => act('suspend', () => api.suspend(ref))}>
            Suspend
          </Button>
        )}
        <Button small className="jp-mod-warn" disabled={!!busy} onClick={remove}>
          Delete
        </Button>
        {props.onClone ? (
          <Button
            small
            disabled={!job}
            title="Launch a copy of this job, changed as you like"
            onClick={() => job && props.onClone?.(job)}
          >
            Clone
          </Button>
        ) : null}
        {props.onOpenTab ? (
          <Button small title="Open this job in a tab beside your notebook" onClick={props.onOpenTab}>
            Open in tab
          </Button>
        ) : null}
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
        <LogView
          replicas={replicaNames}
          replica={replica}
          onReplica={setReplica}
          lines={lines}
          note={logNote}
          onDownload={() => void download()}
          latestAttempt={restartsOf(replica)}
          earlierAttempts={earlierAttempts(summary.backend, restartsOf(replica))}
          readAttempt={attempt => api.logs(ref, replica, props.tailLines, attempt)}
        />
      </details>

      <details open className="jp-kf-section">
        <summary>Metrics</summary>
        <MetricChart points={metrics} rank0={summary.rank0} />
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
      {job?.spec ? (
        <details className="jp-kf-section">
          <summary>Spec (YAML)</summary>
          <pre className="jp-kf-code jp-kf-spec">{toYaml(job.spec)}</pre>
        </details>
      ) : null}
      {job?.spec?.code ? (
        <details className="jp-kf-section">
          <summary>Code ({job.spec.code.filename})</summary>
          <pre className="jp-kf-code">{job.spec.code.source}</pre>
        </details>
      ) : null}
    </div>
  );
}
