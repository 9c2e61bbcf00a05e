/**
 * The REST routes as typed functions, and the two live streams (job events, log follow).
 * Widgets call these, never ServerConnection directly.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { API_PATH, requestAPI } from './handler';
import { IJob, IJobEvent, IJobSummary } from './jobs';

export * from './jobs';

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
  frameworks: Array<{ framework: string; kind: string; workerRole: string }>;
  eventSchema: string;
  available: boolean;
  message: string;
}

export interface IEvent {
  time: string;
  type: string;
  reason: string;
  message: string;
  object?: string;
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

  async logs(name: string, replica?: string, tailLines = 500): Promise<string[]> {
    const reply = await requestAPI<{ lines: string[] }>(
      jobPath(name, '/logs') + this.ns({ replica, tail_lines: tailLines }),
      {},
      this.settings
    );
    return reply.lines;
  }

  async events(name: string): Promise<IEvent[]> {
    const reply = await requestAPI<{ events: IEvent[] }>(jobPath(name, '/events') + this.ns(), {}, this.settings);
    return reply.events;
  }

  async metrics(name: string): Promise<Array<Record<string, unknown>>> {
    const reply = await requestAPI<{ metrics: Array<Record<string, unknown>> }>(
      jobPath(name, '/metrics') + this.ns(),
      {},
      this.settings
    );
    return reply.metrics;
  }

  /** A websocket URL on this server, with the token when the server uses one. */
  private wsUrl(path: string, params: Record<string, string | number | undefined>): string {
    const token = this.settings.token;
    return URLExt.join(this.settings.wsUrl, path) + query({ ...params, token: token || undefined });
  }

  /**
   * Follow a replica's log: `onLines` gets batches of lines, `onEnd` is called once when the
   * replica finished (or the socket failed: then with a message). Returns a stop function.
   */
  followLogs(
    name: string,
    replica: string | undefined,
    tailLines: number,
    onLines: (lines: string[]) => void,
    onEnd: (error?: string) => void
  ): () => void {
    const url = this.wsUrl(`${API_PATH}/${jobPath(name, '/logs/follow')}`, {
      replica,
      tail_lines: tailLines,
      namespace: this.namespace || undefined
    });
    const socket = new WebSocket(url);
    let ended = false;
    const end = (error?: string) => {
      if (!ended) {
        ended = true;
        onEnd(error);
      }
    };
    socket.onmessage = msg => {
      const data = JSON.parse(msg.data);
      if (data.type === 'lines') {
        onLines(data.lines);
      } else if (data.type === 'end') {
        end();
      } else if (data.type === 'error') {
        end(data.message);
      }
    };
    socket.onerror = () => end('The log stream could not be opened (is the job still there?).');
    socket.onclose = () => end();
    return () => {
      ended = true;
      socket.close();
    };
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
