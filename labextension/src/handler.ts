import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** Where the server extension's routes live, under the server's base URL. */
export const API_PATH = 'kf/api';

/**
 * An error the server answered with (openapi.yaml, Error): its message is written for the
 * user; `problems` lists every problem of an invalid job.
 */
export class KFRequestError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly reason: string | null = null,
    readonly problems: string[] = []
  ) {
    super(message);
    this.name = 'KFRequestError';
  }
}

/**
 * Call a route under /kf/api/. The one place the panel talks to the server:
 * ServerConnection adds the token or the XSRF header, so every POST and DELETE passes
 * the server's XSRF check.
 */
export async function requestAPI<T>(
  endPoint = '',
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const text = await requestText(endPoint, init, settings);
  if (text.length === 0) {
    return null as T;
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    return text as T;
  }
}

/** A route's answer as text (a log file), read as it is; errors as `requestAPI`'s. */
export async function requestText(
  endPoint = '',
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<string> {
  const url = URLExt.join(settings.baseUrl, API_PATH, endPoint);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  const text = await response.text();
  if (!response.ok) {
    let data: any = null;
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
    const message =
      (data && typeof data === 'object' && data.message) ||
      `The server answered ${response.status} ${response.statusText}`;
    throw new KFRequestError(
      message,
      response.status,
      data?.reason ?? null,
      Array.isArray(data?.problems) ? data.problems : []
    );
  }
  return text;
}
