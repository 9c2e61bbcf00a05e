/**
 * The job model as the panel sees it, and the pure functions on it: applying events to a
 * snapshot, sorting, labels. No DOM and no JupyterLab imports, so jest tests it directly.
 */

export type Phase =
  | 'Pending'
  | 'Created'
  | 'Running'
  | 'Restarting'
  | 'Succeeded'
  | 'Suspended'
  | 'Failed';

export interface ICondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  lastUpdateTime?: string;
}

export interface IStatus {
  phase: Phase;
  message?: string;
  conditions: ICondition[];
  replicaStatuses?: Record<string, { active?: number; succeeded?: number; failed?: number }>;
  startTime?: string | null;
  completionTime?: string | null;
}

export interface IReplica {
  role: string;
  index: number;
  name: string;
  phase: string;
  restarts?: number;
  node?: string | null;
  reason?: string;
  message?: string;
  exitCode?: number | null;
}

/** One item of GET /kf/api/jobs, and the `job` of an event. */
export interface IJobSummary {
  name: string;
  namespace: string;
  kind: string;
  backend: string;
  created?: string | null;
  workers?: number | null;
  /** The replica whose log is the job's (the server decides, from the kind's description). */
  rank0?: string;
  status: IStatus;
  replicas: IReplica[];
  image?: string | null;
  resources?: { cpu?: string; memory?: string; gpu?: number };
  suspended?: boolean;
}

/** GET /kf/api/jobs/{name}: the summary's fields plus the spec. */
export interface IJob extends IJobSummary {
  spec: Record<string, any> | null;
}

/** The data of an event under https://events.jupyter-kf.org/job/v1. */
export interface IJobEvent {
  schema_id?: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  name: string;
  namespace: string;
  phase: string;
  job: IJobSummary | null;
}

export const FINISHED: ReadonlySet<string> = new Set(['Succeeded', 'Failed']);

export function jobKey(job: { namespace: string; name: string }): string {
  return `${job.namespace}/${job.name}`;
}

/** Newest first; jobs without a creation time last, then by name. */
export function sortJobs(jobs: IJobSummary[]): IJobSummary[] {
  return [...jobs].sort((a, b) => {
    const ta = a.created ?? '';
    const tb = b.created ?? '';
    if (ta !== tb) {
      return ta < tb ? 1 : -1;
    }
    return a.name.localeCompare(b.name);
  });
}

/**
 * The list after one event. Events from another namespace than the one shown are ignored;
 * an event never resurrects a job the snapshot is newer than (it carries the whole job,
 * so the last one wins).
 */
export function applyJobEvent(
  jobs: IJobSummary[],
  event: IJobEvent,
  namespace: string
): IJobSummary[] {
  if (namespace && event.namespace !== namespace) {
    return jobs;
  }
  const key = jobKey(event);
  const rest = jobs.filter(j => jobKey(j) !== key);
  if (event.type === 'DELETED' || !event.job) {
    return rest.length === jobs.length ? jobs : rest;
  }
  return sortJobs([...rest, event.job]);
}

/** The colour family of a phase's badge (style/base.css has one class per tone). */
export function phaseTone(phase: string): 'ok' | 'busy' | 'bad' | 'idle' {
  switch (phase) {
    case 'Succeeded':
      return 'ok';
    case 'Running':
    case 'Created':
    case 'Restarting':
      return 'busy';
    case 'Failed':
      return 'bad';
    default:
      return 'idle';
  }
}

/** "5s", "3m", "2h", "4d" since an RFC 3339 time. */
export function formatAge(created: string | null | undefined, now: number = Date.now()): string {
  if (!created) {
    return '';
  }
  const then = Date.parse(created);
  if (Number.isNaN(then)) {
    return '';
  }
  const seconds = Math.max(0, Math.floor((now - then) / 1000));
  if (seconds < 60) {
    return `${seconds}s`;
  }
  if (seconds < 3600) {
    return `${Math.floor(seconds / 60)}m`;
  }
  if (seconds < 86400) {
    return `${Math.floor(seconds / 3600)}h`;
  }
  return `${Math.floor(seconds / 86400)}d`;
}

/** "2/3 running" style replica count for the list. */
export function replicaSummary(job: IJobSummary): string {
  const total = job.replicas.length;
  if (!total) {
    return '';
  }
  const running = job.replicas.filter(r => r.phase === 'Running').length;
  const done = job.replicas.filter(r => r.phase === 'Succeeded').length;
  if (running) {
    return `${running}/${total} running`;
  }
  if (done) {
    return `${done}/${total} done`;
  }
  return `${total} replica${total === 1 ? '' : 's'}`;
}

/** What a user can do with a job in its phase. */
export function allowedActions(job: IJobSummary): {
  scale: boolean;
  suspend: boolean;
  resume: boolean;
} {
  const finished = FINISHED.has(job.status.phase);
  const suspended = job.status.phase === 'Suspended' || !!job.suspended;
  return { scale: !finished, suspend: !finished && !suspended, resume: !finished && suspended };
}

export interface IMetricSeries {
  name: string;
  points: Array<{ x: number; y: number }>;
}

/**
 * Metric points (`{replica, time, step?, loss, ...}`) as one series per numeric field, x
 * being `step` when the points have one, else their order. Only rank 0's points are used
 * when several replicas report, so a series does not zig-zag between ranks: `rank0` is the
 * job's (from the server); without it, or when rank 0 reported nothing, the first replica
 * by name that reported.
 */
export function metricSeries(points: Array<Record<string, unknown>>, rank0?: string): IMetricSeries[] {
  const replicas = Array.from(new Set(points.map(p => String(p.replica ?? ''))));
  const chosen = rank0 !== undefined && replicas.includes(rank0) ? rank0 : replicas.sort()[0];
  const own = points.filter(p => String(p.replica ?? '') === chosen);
  const skip = new Set(['replica', 'time', 'step', 'epoch']);
  const series = new Map<string, Array<{ x: number; y: number }>>();
  own.forEach((p, i) => {
    const x = typeof p.step === 'number' ? p.step : typeof p.epoch === 'number' ? p.epoch : i;
    for (const [key, value] of Object.entries(p)) {
      if (skip.has(key) || typeof value !== 'number' || !Number.isFinite(value)) {
        continue;
      }
      if (!series.has(key)) {
        series.set(key, []);
      }
      series.get(key)!.push({ x, y: value });
    }
  });
  return Array.from(series.entries()).map(([name, pts]) => ({ name, points: pts }));
}

/** An SVG polyline's points for a series scaled into width x height. */
export function polyline(points: Array<{ x: number; y: number }>, width: number, height: number): string {
  if (!points.length) {
    return '';
  }
  const xs = points.map(p => p.x);
  const ys = points.map(p => p.y);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const sx = (x: number) => (x1 === x0 ? width / 2 : ((x - x0) / (x1 - x0)) * width);
  const sy = (y: number) => (y1 === y0 ? height / 2 : height - ((y - y0) / (y1 - y0)) * height);
  return points.map(p => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ');
}
