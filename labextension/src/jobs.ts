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
  extra?: IJobExtra;
}

/** What the server tells of a job beyond spec and status (openapi.yaml, JobExtra). */
export interface IJobExtra {
  /** A TrainJob's runtime. */
  runtime?: string;
  /** A TrainJob's status.trainerStatus. */
  progress?: {
    progressPercentage?: number | null;
    estimatedRemainingSeconds?: number | null;
    metrics?: Record<string, string>;
  };
  /** What happened that was not asked for (a scale that replaced a TrainJob, ...). */
  notice?: string;
}

/** What scaling a TrainJob does (jupyter_kf.display.SCALE_REPLACES: every front end says it first). */
export const SCALE_REPLACES =
  'a TrainJob cannot resize: it will be replaced and training restarts (from its last checkpoint if your script keeps one)';

/** "Trainer: 40% · ETA 2m 10s · loss 0.31" from a TrainJob's progress; '' when it posted none. */
export function trainerProgressText(progress: IJobExtra['progress']): string {
  if (!progress) {
    return '';
  }
  const parts: string[] = [];
  if (typeof progress.progressPercentage === 'number') {
    parts.push(`${progress.progressPercentage}%`);
  }
  if (typeof progress.estimatedRemainingSeconds === 'number') {
    parts.push(`ETA ${formatDuration(progress.estimatedRemainingSeconds)}`);
  }
  const metrics = Object.entries(progress.metrics ?? {});
  if (metrics.length) {
    parts.push(metrics.map(([k, v]) => `${k} ${v}`).join(', '));
  }
  return parts.length ? `Trainer: ${parts.join(' · ')}` : '';
}

/** "workers" or, for a TrainJob, "nodes". */
export function workersNoun(kind: string): string {
  return kind === 'TrainJob' ? 'nodes' : 'workers';
}

/** GET /kf/api/jobs/{name}: the summary's fields plus the spec. */
export interface IJob extends IJobSummary {
  spec: Record<string, any> | null;
}

/** The data of an event under https://events.jupyter-kf.org/job/v1. */
export interface IJobEvent {
  schema_id?: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  kind: string;
  name: string;
  namespace: string;
  phase: string;
  job: IJobSummary | null;
}

export const FINISHED: ReadonlySet<string> = new Set(['Succeeded', 'Failed']);

/**
 * A job's identity in the panel: its kind and name. The API allows a PyTorchJob and a
 * TrainJob of one name in a namespace, so a name alone would merge them in the list, the
 * selection, the detail view and its log follower.
 */
export function jobId(job: { kind: string; name: string }): string {
  return `${job.kind}/${job.name}`;
}

/** The list's key: the namespace and the job's identity. */
export function jobKey(job: { namespace: string; kind: string; name: string }): string {
  return `${job.namespace}/${jobId(job)}`;
}

/**
 * How the REST API names the job: `kind/name` on a cluster (as kubectl takes it, so it
 * reaches exactly this job), the bare name on the local backend, whose names are unique.
 */
export function jobRef(job: { kind: string; name: string; backend: string }): string {
  return job.backend === 'kubernetes' ? jobId(job) : job.name;
}

/** The job `ref` names: a `kind/name` (jobId), or a bare name (the first job that has it). */
export function findJob<T extends IJobSummary>(jobs: T[], ref: string | null | undefined): T | undefined {
  if (!ref) {
    return undefined;
  }
  return jobs.find(j => jobId(j) === ref) ?? jobs.find(j => j.name === ref);
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
export function phaseTone(phase: string): 'ok' | 'busy' | 'warn' | 'bad' | 'idle' {
  switch (phase) {
    case 'Succeeded':
      return 'ok';
    case 'Running':
    case 'Created':
      return 'busy';
    case 'Restarting':
      return 'warn'; // a replica failed and is being restarted: not the same as running
    case 'Failed':
      return 'bad';
    default:
      return 'idle';
  }
}

/** "42s", "3m 05s", "2h 01m": a duration that a ticking clock reads well. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 60) {
    return `${s}s`;
  }
  if (s < 3600) {
    return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  }
  return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
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
  /** Where each attempt starts in `points`: a restart sends the step back, a new line starts. */
  attempts: number[];
}

/** Fields of a metric point that are not metrics to plot (`total_steps` is for progress). */
const NOT_METRICS = new Set(['replica', 'time', 'step', 'epoch', 'total_steps']);

/** Rank 0's points: the `rank0` the server names, else the first replica by name. */
function ownPoints(points: Array<Record<string, unknown>>, rank0?: string): Array<Record<string, unknown>> {
  const replicas = Array.from(new Set(points.map(p => String(p.replica ?? ''))));
  const chosen = rank0 !== undefined && replicas.includes(rank0) ? rank0 : replicas.sort()[0];
  return points.filter(p => String(p.replica ?? '') === chosen);
}

/**
 * Metric points (`{replica, time, step?, loss, ...}`) as one series per numeric field, x
 * being `step` when the points have one, else their order. Only rank 0's points are used
 * when several replicas report, so a series does not zig-zag between ranks: `rank0` is the
 * job's (from the server); without it, or when rank 0 reported nothing, the first replica
 * by name that reported.
 */
export function metricSeries(points: Array<Record<string, unknown>>, rank0?: string): IMetricSeries[] {
  const series = new Map<string, IMetricSeries>();
  ownPoints(points, rank0).forEach((p, i) => {
    const x = typeof p.step === 'number' ? p.step : typeof p.epoch === 'number' ? p.epoch : i;
    for (const [key, value] of Object.entries(p)) {
      if (NOT_METRICS.has(key) || typeof value !== 'number' || !Number.isFinite(value)) {
        continue;
      }
      if (!series.has(key)) {
        series.set(key, { name: key, points: [], attempts: [0] });
      }
      const s = series.get(key)!;
      if (s.points.length && x < s.points[s.points.length - 1].x) {
        s.attempts.push(s.points.length);
      }
      s.points.push({ x, y: value });
    }
  });
  return Array.from(series.values());
}

/** One polyline per attempt, all scaled into the same box (see `polyline`). */
export function polylines(series: IMetricSeries, width: number, height: number): string[] {
  const all = polyline(series.points, width, height).split(' ');
  const ends = [...series.attempts.slice(1), series.points.length];
  return series.attempts.map((start, i) => all.slice(start, ends[i]).join(' '));
}

export interface IProgress {
  /** Seconds since the job started (to its end when it has ended); null before it starts. */
  elapsed: number | null;
  step: number | null;
  total: number | null;
  /** Steps per second over the newest points; 0 when it cannot be told yet. */
  rate: number;
  /** Seconds left; null without a total or a rate, or once the job ended. */
  eta: number | null;
}

/**
 * How far a job is, from rank 0's points (`jupyter_kf.report(step=, total_steps=)`): the
 * rate is measured over the newest `window` points of the current attempt, by their `time`
 * (or, for points without one, when they arrived: `arrived`, epoch ms, same order).
 */
export function jobProgress(
  job: Pick<IJobSummary, 'created' | 'status' | 'rank0'>,
  points: Array<Record<string, unknown>>,
  now: number,
  arrived: number[] = [],
  window = 20
): IProgress {
  const started = Date.parse(job.status.startTime ?? job.created ?? '');
  const finished = FINISHED.has(job.status.phase);
  const endedAt = finished ? Date.parse(job.status.completionTime ?? '') : NaN;
  const end = finished && !Number.isNaN(endedAt) ? endedAt : now;
  const elapsed = Number.isNaN(started) ? null : Math.max(0, (end - started) / 1000);
  let total: number | null = null;
  let samples: Array<[number, number]> = [];
  ownPoints(points, job.rank0).forEach(p => {
    if (typeof p.total_steps === 'number' && p.total_steps > 0) {
      total = p.total_steps;
    }
    if (typeof p.step !== 'number') {
      return;
    }
    const t = typeof p.time === 'string' ? Date.parse(p.time) : NaN;
    const when = Number.isNaN(t) ? arrived[points.indexOf(p)] ?? now : t;
    if (samples.length && p.step < samples[samples.length - 1][1]) {
      samples = []; // a restart: measure the new attempt only
    }
    samples.push([when, p.step]);
  });
  const recent = samples.slice(-window);
  const step = recent.length ? recent[recent.length - 1][1] : null;
  let rate = 0;
  if (recent.length >= 2) {
    const [[t0, s0], [t1, s1]] = [recent[0], recent[recent.length - 1]];
    rate = t1 > t0 && s1 > s0 ? ((s1 - s0) * 1000) / (t1 - t0) : 0;
  }
  let eta: number | null = null;
  if (total !== null && step !== null && rate > 0 && !finished) {
    const seen = recent[recent.length - 1][0];
    eta = Math.max(0, (total - 1 - step) / rate - (now - seen) / 1000);
  }
  return { elapsed, step, total, rate: finished ? 0 : rate, eta };
}

/** "elapsed 1m 05s · 12/30 steps · 4.2 steps/s · ETA 4s" (what is known of it). */
export function progressText(p: IProgress): string {
  const parts: string[] = [];
  if (p.elapsed !== null) {
    parts.push(`elapsed ${formatDuration(p.elapsed)}`);
  }
  if (p.step !== null) {
    parts.push(p.total ? `${Math.min(p.step + 1, p.total)}/${p.total} steps` : `step ${p.step}`);
  }
  if (p.rate > 0 && p.eta !== null) {
    parts.push(`${Number(p.rate.toPrecision(3))} steps/s`, `ETA ${formatDuration(p.eta)}`);
  } else if (p.rate > 0) {
    parts.push(`${Number(p.rate.toPrecision(3))} steps/s`);
  }
  return parts.join(' · ');
}

/** Whether a job came back to life (resumed, or restarted after ending): follow it anew. */
export function cameBack(before: string, after: string): boolean {
  return (before === 'Suspended' || FINISHED.has(before)) && !FINISHED.has(after) && after !== 'Suspended';
}

/** The jobs of `after` that were in `before` still running and have now ended. */
export function newlyFinished(before: IJobSummary[], after: IJobSummary[]): IJobSummary[] {
  const was = new Map(before.map(j => [jobKey(j), j.status.phase]));
  return after.filter(j => {
    const old = was.get(jobKey(j));
    return old !== undefined && !FINISHED.has(old) && FINISHED.has(j.status.phase);
  });
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

/** What `jupyter_kf.report()` prints (jupyter_kf/jobs/metrics.py): the chart shows those. */
export const REPORT_PREFIX = '@@jupyter-kf-metric ';

/** Log lines for people: without `report()`'s machine-readable ones. */
export function readableLines(lines: string[]): string[] {
  return lines.filter(line => !line.startsWith(REPORT_PREFIX));
}

export type SortKey = 'newest' | 'oldest' | 'name' | 'phase';
export const SORT_KEYS: Record<SortKey, string> = {
  newest: 'Newest first',
  oldest: 'Oldest first',
  name: 'Name',
  phase: 'Phase'
};
/** Phases in the order a user scans for trouble: failing first, then running, then done. */
const PHASE_ORDER = ['Failed', 'Restarting', 'Running', 'Created', 'Pending', 'Suspended', 'Succeeded'];

/**
 * The list as shown: the jobs whose name, kind, phase or backend contain every word of
 * `query` (any case), sorted by `key`.
 */
export function visibleJobs(jobs: IJobSummary[], query: string, key: SortKey = 'newest'): IJobSummary[] {
  const words = query.toLowerCase().split(/\s+/).filter(w => w);
  const shown = jobs.filter(j => {
    const text = [j.name, j.kind, j.status.phase, j.backend, j.namespace].join(' ').toLowerCase();
    return words.every(w => text.includes(w));
  });
  const byName = (a: IJobSummary, b: IJobSummary) => a.name.localeCompare(b.name);
  switch (key) {
    case 'oldest':
      return sortJobs(shown).reverse();
    case 'name':
      return [...shown].sort(byName);
    case 'phase': {
      const rank = (j: IJobSummary) => {
        const i = PHASE_ORDER.indexOf(j.status.phase);
        return i < 0 ? PHASE_ORDER.length : i;
      };
      return [...shown].sort((a, b) => rank(a) - rank(b) || byName(a, b));
    }
    default:
      return sortJobs(shown);
  }
}

/** A value as YAML (the subset JSON needs), for the spec tab: readable, and valid YAML. */
export function toYaml(value: unknown, indent = ''): string {
  const scalar = (v: unknown): string => {
    if (v === null || v === undefined) {
      return 'null';
    }
    if (typeof v === 'string') {
      // Plain when YAML would read it back as the same string; quoted (JSON is YAML) else.
      return /^(?:[A-Za-z_/.]|-(?=[^\s\d.]))[\w ./:=@+-]*$/.test(v) && !/^(true|false|null|yes|no|on|off|~)$/i.test(v) && !/[:#] |\s$/.test(v)
        ? v
        : JSON.stringify(v);
    }
    return String(v);
  };
  if (Array.isArray(value)) {
    if (!value.length) {
      return '[]';
    }
    return value
      .map(item => {
        const body = toYaml(item, indent + '  ');
        return typeof item === 'object' && item !== null && Object.keys(item).length
          ? `${indent}- ${body.trimStart()}`
          : `${indent}- ${body}`;
      })
      .join('\n');
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (!entries.length) {
      return '{}';
    }
    return entries
      .map(([k, v]) => {
        const key = scalar(k);
        if (typeof v === 'string' && v.includes('\n')) {
          const lines = v.replace(/\n$/, '').split('\n');
          return `${indent}${key}: |${v.endsWith('\n') ? '' : '-'}\n` + lines.map(l => `${indent}  ${l}`).join('\n');
        }
        if (Array.isArray(v) && v.length) {
          return `${indent}${key}:\n${toYaml(v, indent)}`; // a list sits under its key
        }
        if (typeof v === 'object' && v !== null && Object.keys(v).length) {
          return `${indent}${key}:\n${toYaml(v, indent + '  ')}`;
        }
        return `${indent}${key}: ${toYaml(v, indent + '  ')}`;
      })
      .join('\n');
  }
  return scalar(value);
}

/** The code a notebook cell needs to show a job again (its live widget). */
export function reattachCode(job: Pick<IJobSummary, 'kind' | 'name' | 'namespace' | 'backend'>): string {
  const where = job.backend === 'local' ? ' --local' : ` --cluster --namespace ${job.namespace}`;
  return `%load_ext jupyter_kf\n%kftrain monitor ${jobRef(job)}${where}`;
}

/** The rows of a virtualised list to draw: those in view, and `overscan` more each side. */
export function visibleRows(
  count: number,
  scrollTop: number,
  viewHeight: number,
  rowHeight: number,
  overscan = 20
): { start: number; end: number } {
  const shown = Math.ceil(viewHeight / rowHeight);
  // A scroll position from before the list shrank (a search) is past its end: the last page.
  const first = Math.min(Math.floor(Math.max(0, scrollTop) / rowHeight), Math.max(0, count - shown));
  return { start: Math.max(0, first - overscan), end: Math.min(count, first + shown + overscan) };
}

/** The indexes of the lines that contain `query` (any case); every line when it is empty. */
export function matchingLines(lines: string[], query: string): number[] {
  const q = query.toLowerCase();
  const out: number[] = [];
  lines.forEach((line, i) => {
    if (!q || line.toLowerCase().includes(q)) {
      out.push(i);
    }
  });
  return out;
}
