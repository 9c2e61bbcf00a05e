/**
 * The panel's view of the jobs: a snapshot from GET /kf/api/jobs, kept current by job events
 * from the server's event bus, and reloaded whenever that stream (re)connects. Nothing here
 * polls the server, and nothing outlives the page: the backend is the source of truth.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { IJobSummary, IServerConfig, KFApi, applyJobEvent, jobId, newlyFinished, sortJobs } from './api';

export class JobsModel {
  constructor(readonly api: KFApi) {}

  jobs: IJobSummary[] = [];
  config: IServerConfig | null = null;
  /** A message for the user when loading failed; '' when all is well. */
  error = '';
  /** Whether the live event stream is connected (else the list may be stale). */
  live = false;
  loaded = false;
  /** The selected job's jobId (kind/name), or null. */
  selected: string | null = null;
  /** The time of the last change, for tests and the benchmark (performance.now()). */
  lastChange = 0;

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** A job this panel saw running has just ended (Succeeded or Failed). */
  get finished(): ISignal<this, IJobSummary> {
    return this._finished;
  }

  async start(): Promise<void> {
    try {
      this.config = await this.api.config();
    } catch (error) {
      this.error = describe(error);
      this.loaded = true;
      this._emit();
      return;
    }
    if (!this.config.available) {
      this.error = this.config.message;
      this.loaded = true;
      this._emit();
      return;
    }
    this._stream = this.api.subscribe(
      this.config.eventSchema,
      event => {
        const before = this.jobs;
        this.jobs = applyJobEvent(this.jobs, event, this.namespace);
        this._emit();
        for (const job of newlyFinished(before, this.jobs)) {
          this._finished.emit(job);
        }
      },
      () => {
        this.live = true;
        void this.reload();
      },
      () => {
        this.live = false;
        this._emit();
      }
    );
    await this.reload();
  }

  /** The namespace shown: the setting, else the server's. */
  get namespace(): string {
    return this.api.namespace || this.config?.namespace || '';
  }

  async reload(): Promise<void> {
    try {
      this.jobs = sortJobs(await this.api.list());
      this.error = '';
    } catch (error) {
      this.error = describe(error);
    }
    this.loaded = true;
    this._emit();
  }

  select(id: string | null): void {
    this.selected = id;
    this._emit();
  }

  /** Put a job the server just returned into the list (the event may come later). */
  upsert(job: IJobSummary): void {
    this.jobs = applyJobEvent(
      this.jobs,
      { type: 'MODIFIED', kind: job.kind, name: job.name, namespace: job.namespace, phase: job.status.phase, job },
      ''
    );
    this._emit();
  }

  /** Drop the job whose jobId (kind/name) is `id`: another kind's job of its name stays. */
  remove(id: string): void {
    this.jobs = this.jobs.filter(j => jobId(j) !== id);
    if (this.selected === id) {
      this.selected = null;
    }
    this._emit();
  }

  dispose(): void {
    this._stream?.dispose();
    Signal.clearData(this);
  }

  private _emit(): void {
    this.lastChange = performance.now();
    this._changed.emit();
  }

  private _changed = new Signal<this, void>(this);
  private _finished = new Signal<this, IJobSummary>(this);
  private _stream: { dispose: () => void } | null = null;
}

/** A sentence for the user from whatever was thrown. */
export function describe(error: unknown): string {
  if (error && typeof error === 'object' && 'message' in error) {
    const e = error as { message: string; problems?: string[] };
    if (e.problems && e.problems.length > 1) {
      return `${e.message.split('\n')[0]} ${e.problems.join(' ')}`;
    }
    return e.message;
  }
  return String(error);
}
