/**
 * Following one job live through the server's long poll (GET /kf/api/jobs/{name}/updates):
 * each reply carries what is new and the cursor to ask from next, so a request that failed
 * (the server restarted, the network dropped) is simply asked again from the last cursor,
 * and nothing is lost or shown twice. Pure: the request is passed in, so this runs in jest.
 */
import { IJobSummary } from './jobs';

export interface IEvent {
  time: string;
  type: string;
  reason: string;
  message: string;
  object?: string;
}

/** One reply of the updates route (openapi.yaml, Updates). */
export interface IUpdates {
  cursor: string;
  state: string;
  job: IJobSummary | null;
  events: IEvent[];
  metrics: Array<Record<string, unknown>>;
  logs: Record<string, string[]>;
  deleted: boolean;
  done: boolean;
}

/** Asks for what came after `since`; `state` is the previous reply's, '' at first. */
export type FetchUpdates = (since: string, state: string, signal: AbortSignal) => Promise<IUpdates>;

export interface IFollowHandlers {
  onUpdate: (update: IUpdates) => void;
  /** The job finished (or was deleted) and everything was received. */
  onDone?: () => void;
  /** A request failed; `retrying` is false when asking again cannot help (e.g. 404). */
  onError?: (error: unknown, retrying: boolean) => void;
}

export interface IFollowOptions {
  /** The first pause after a failed request, doubled after each further one. */
  retryMs?: number;
  maxRetryMs?: number;
}

/** Follow a job until it is done, a request fails for good, or the returned stop is called. */
export function followJob(
  fetchUpdates: FetchUpdates,
  handlers: IFollowHandlers,
  options: IFollowOptions = {}
): () => void {
  const controller = new AbortController();
  const firstDelay = options.retryMs ?? 1000;
  const maxDelay = options.maxRetryMs ?? 30000;
  let stopped = false;

  const run = async () => {
    let since = '';
    let state = '';
    let delay = firstDelay;
    while (!stopped) {
      let reply: IUpdates;
      try {
        reply = await fetchUpdates(since, state, controller.signal);
      } catch (error) {
        if (stopped) {
          return;
        }
        const retrying = !final(error);
        handlers.onError?.(error, retrying);
        if (!retrying) {
          return;
        }
        await pause(delay, controller.signal);
        delay = Math.min(delay * 2, maxDelay);
        continue;
      }
      if (stopped) {
        return;
      }
      delay = firstDelay;
      since = reply.cursor;
      state = reply.state;
      handlers.onUpdate(reply);
      if (reply.done) {
        handlers.onDone?.();
        return;
      }
    }
  };
  void run();
  return () => {
    stopped = true;
    controller.abort();
  };
}

/** A 4xx other than a timeout or "too many": the same request would fail again. */
function final(error: unknown): boolean {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 500 && status !== 408 && status !== 429;
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise(resolve => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
