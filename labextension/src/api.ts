/**
 * The REST routes as typed functions, and the two live streams (job changes on the event
 * bus, one job's updates). Widgets call these, never ServerConnection directly.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { requestAPI, requestText } from './handler';
import { IJob, IJobEvent, IJobSummary } from './jobs';
import { IUpdates } from './stream';

export * from './jobs';
export { IEvent, IUpdates } from './stream';

export interface IProfile {
  name: string;
  display_name?: string;
  description?: string;
  cpu?: string;
  memory?: string;
  gpu?: number;
  image?: string;
}

export interface IServerConfig {
  version: string;
  backend: string | null;
  configuredBackend: string;
  namespace: string;
  defaultImage: string | null;
  profiles: IProfile[];
  /** Each kind's description, from the server (jupyter_kf.jobs.kinds): the panel keeps no kind rules. */
  frameworks: Array<{
    framework: string;
    kind: string;
    roles: string[];
    workerRole: string;
    leaders: string[];
    defaultLeader: string | null;
    leaderIsWorker: boolean;
    scalesInPlace: boolean;
  }>;
  eventSchema: string;
  available: boolean;
  message: string;
}

/** A Trainer v2 runtime a TrainJob may name (GET /kf/api/runtimes; jupyter_kf.jobs.runtimes). */
export interface IRuntime {
  name: string;
  scope: string;
  namespace: string | null;
  framework: string;
  mlPolicy: string;
  numNodes: number;
  image: string | null;
}

function query(params: Record<string, string | number | undefined | null>): string {
  const entries = Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== '');
  if (!entries.length) {
    return '';
  }
  return '?' + entries.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join('&');
}

function jobPath(name: string, rest = ''): string {
  return `jobs/${encodeURIComponent(name)}${rest}`;
}

export class KFApi {
  constructor(
    readonly settings: ServerConnection.ISettings,
    public namespace = ''
  ) {}

  private ns(extra: Record<string, string | number | undefined> = {}): string {
    return query({ namespace: this.namespace, ...extra });
  }

  config(): Promise<IServerConfig> {
    return requestAPI<IServerConfig>('config', {}, this.settings);
  }

  async runtimes(): Promise<IRuntime[]> {
    const reply = await requestAPI<{ runtimes: IRuntime[] }>('runtimes' + this.ns(), {}, this.settings);
    return reply.runtimes;
  }

  async list(): Promise<IJobSummary[]> {
    const reply = await requestAPI<{ jobs: IJobSummary[] }>('jobs' + this.ns(), {}, this.settings);
    return reply.jobs;
  }

  get(name: string): Promise<IJob> {
    return requestAPI<IJob>(jobPath(name) + this.ns(), {}, this.settings);
  }

  create(body: Record<string, unknown>): Promise<IJob> {
    return requestAPI<IJob>(
      'jobs' + this.ns(),
      { method: 'POST', body: JSON.stringify(body) },
      this.settings
    );
  }

  async delete(name: string): Promise<void> {
    await requestAPI<null>(jobPath(name) + this.ns(), { method: 'DELETE' }, this.settings);
  }

  scale(name: string, workers: number): Promise<IJob> {
    return requestAPI<IJob>(
      jobPath(name, '/scale') + this.ns(),
      { method: 'POST', body: JSON.stringify({ workers }) },
      this.settings
    );
  }

  suspend(name: string): Promise<IJob> {
    return requestAPI<IJob>(jobPath(name, '/suspend') + this.ns(), { method: 'POST' }, this.settings);
  }

  resume(name: string): Promise<IJob> {
    return requestAPI<IJob>(jobPath(name, '/resume') + this.ns(), { method: 'POST' }, this.settings);
  }

  /**
   * A replica's log (default: rank 0), the last `tailLines` lines (at most 10,000; default:
   * the server's log_tail_lines); of one `attempt` of it (0 its first run) when given.
   */
  async logs(name: string, replica?: string, tailLines?: number, attempt?: number): Promise<string[]> {
    const params = this.ns({ replica, tail_lines: tailLines, attempt });
    const reply = await requestAPI<{ lines: string[] }>(jobPath(name, '/logs') + params, {}, this.settings);
    return reply.lines;
  }

  /** A replica's whole log (of one `attempt` when given), as the text of a file. */
  logFile(name: string, replica?: string, attempt?: number): Promise<string> {
    const params = this.ns({ replica, attempt });
    return requestText(jobPath(name, '/logs/download') + params, {}, this.settings);
  }

  /**
   * What is new in one job after `since` (a long poll: the server answers as soon as there
   * is something, or after `timeout` seconds with nothing). See stream.ts, followJob.
   */
  updates(
    name: string,
    options: { since?: string; state?: string; replicas?: string[]; timeout?: number; signal?: AbortSignal }
  ): Promise<IUpdates> {
    const params = this.ns({ since: options.since, state: options.state, timeout: options.timeout });
    const replicas = (options.replicas ?? []).map(r => `replica=${encodeURIComponent(r)}`);
    const all = [params.replace(/^\?/, ''), ...replicas].filter(p => p).join('&');
    return requestAPI<IUpdates>(
      jobPath(name, '/updates') + (all ? '?' + all : ''),
      { signal: options.signal },
      this.settings
    );
  }

  /** A websocket URL on this server, with the token when the server uses one. */
  private wsUrl(path: string, params: Record<string, string | number | undefined>): string {
    const token = this.settings.token;
    return URLExt.join(this.settings.wsUrl, path) + query({ ...params, token: token || undefined });
  }

  /**
   * Job changes from the server's event bus. `onOpen` runs on every (re)connection: the bus
   * does not replay, so the caller reloads its snapshot then. Reconnects with backoff.
   */
  subscribe(
    schemaId: string,
    onEvent: (event: IJobEvent) => void,
    onOpen: () => void,
    onDown: () => void
  ): { dispose: () => void } {
    let socket: WebSocket | null = null;
    let disposed = false;
    let delay = 500;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const connect = () => {
      socket = new WebSocket(this.wsUrl('api/events/subscribe', {}));
      socket.onopen = () => {
        delay = 500;
        onOpen();
      };
      socket.onmessage = msg => {
        const data = JSON.parse(msg.data);
        if (data.schema_id === schemaId) {
          onEvent(data as IJobEvent);
        }
      };
      socket.onclose = () => {
        if (disposed) {
          return;
        }
        onDown();
        timer = setTimeout(connect, delay);
        delay = Math.min(delay * 2, 30000);
      };
    };
    connect();
    return {
      dispose: () => {
        disposed = true;
        if (timer) {
          clearTimeout(timer);
        }
        socket?.close();
      }
    };
  }
}
