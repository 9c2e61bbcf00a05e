/**
 * A replica's earlier attempts, for the log viewer's attempt switch. Attempt 0 is its first
 * run, each restart the next; its `restarts` is the one running now (the live log).
 */

/** What the backend keeps: every attempt locally; on Kubernetes only the container's
 * previous attempt (the kubelet keeps one terminated container, `previous=true`). */
export function earlierAttempts(backend: string, restarts: number | undefined): number[] {
  const latest = Math.max(0, Math.floor(restarts ?? 0));
  if (latest === 0) {
    return [];
  }
  if (backend === 'kubernetes') {
    return [latest - 1];
  }
  return Array.from({ length: latest }, (_, i) => i);
}

/**
 * The switch's choices: the live log first (the stream as it came: locally the whole log,
 * every attempt in turn), then each earlier attempt alone, newest first.
 */
export function attemptOptions(latest: number, earlier: number[]): Array<{ label: string; value: string }> {
  return [
    { label: `live log (attempt ${latest} running or last)`, value: '' },
    ...[...earlier].reverse().map(a => ({ label: `attempt ${a}`, value: String(a) }))
  ];
}
