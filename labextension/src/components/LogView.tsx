import { Button, HTMLSelect } from '@jupyterlab/ui-components';
import * as React from 'react';

import { attemptOptions } from '../attempts';
import { matchingLines, visibleRows } from '../jobs';

/** Must match `.jp-kf-log-row`'s height in style/base.css: rows are placed by it. */
const ROW = 17;

/**
 * A replica's log as the stream delivers it: virtualised (only the rows in view are in the
 * page, so 100,000 lines scroll as fast as 100), a search that keeps only matching lines,
 * a follow toggle (scrolling up pauses it, scrolling to the end resumes it), the replica
 * selector, an attempt switch (a restarted replica's earlier runs, read once: they have
 * ended) and a download of the whole log.
 */
export function LogView(props: {
  replicas: string[];
  replica: string;
  onReplica: (replica: string) => void;
  lines: string[];
  note: string;
  onDownload?: () => void;
  /** The chosen replica's attempt running now (its restarts) and the earlier ones kept. */
  latestAttempt?: number;
  earlierAttempts?: number[];
  readAttempt?: (attempt: number) => Promise<string[]>;
}): JSX.Element {
  const box = React.useRef<HTMLDivElement>(null);
  const [query, setQuery] = React.useState('');
  const [follow, setFollow] = React.useState(true);
  const [scroll, setScroll] = React.useState({ top: 0, height: 240 });
  // '' is the latest attempt, live from the stream; a number, an earlier one read once.
  const [attempt, setAttempt] = React.useState('');
  const [past, setPast] = React.useState<{ lines: string[]; note: string }>({ lines: [], note: '' });
  React.useEffect(() => setAttempt(''), [props.replica]);
  React.useEffect(() => {
    if (attempt === '' || !props.readAttempt) {
      return;
    }
    let live = true;
    setPast({ lines: [], note: `Reading attempt ${attempt}…` });
    props
      .readAttempt(Number(attempt))
      .then(lines => live && setPast({ lines, note: `Attempt ${attempt} of ${props.replica}: it has ended.` }))
      .catch(err => live && setPast({ lines: [], note: err instanceof Error ? err.message : String(err) }));
    return () => {
      live = false;
    };
  }, [attempt, props.replica]);
  const lines = attempt === '' ? props.lines : past.lines;
  const note = attempt === '' ? props.note : past.note;
  const earlier = props.earlierAttempts ?? [];
  const shown = React.useMemo(() => matchingLines(lines, query), [lines, query]);

  React.useEffect(() => {
    if (follow && box.current) {
      box.current.scrollTop = box.current.scrollHeight;
    }
  }, [shown, follow]);

  const onScroll = () => {
    const el = box.current;
    if (!el) {
      return;
    }
    setScroll({ top: el.scrollTop, height: el.clientHeight });
    const atEnd = el.scrollTop + el.clientHeight >= el.scrollHeight - ROW;
    if (atEnd !== follow) {
      setFollow(atEnd);
    }
  };
  const { start, end } = visibleRows(shown.length, scroll.top, scroll.height, ROW);

  return (
    <div className="jp-kf-logs">
      <div className="jp-kf-row jp-kf-log-tools">
        <HTMLSelect
          name="replica"
          value={props.replica}
          options={props.replicas}
          onChange={e => props.onReplica(e.currentTarget.value)}
          aria-label="Replica"
        />
        {earlier.length && props.readAttempt ? (
          <HTMLSelect
            name="attempt"
            value={attempt}
            options={attemptOptions(props.latestAttempt ?? 0, earlier)}
            onChange={e => setAttempt(e.currentTarget.value)}
            aria-label="Attempt"
            title="A restarted replica's earlier runs"
          />
        ) : null}
        <input
          className="jp-mod-styled jp-kf-log-search"
          type="search"
          name="log-search"
          placeholder="Search"
          aria-label="Search the log"
          value={query}
          onChange={e => setQuery(e.currentTarget.value)}
        />
        <label className="jp-kf-follow" title="Keep the newest line in view">
          <input type="checkbox" name="follow" checked={follow} onChange={e => setFollow(e.currentTarget.checked)} />
          Follow
        </label>
        {props.onDownload ? (
          <Button small minimal title="Download this replica's whole log" onClick={props.onDownload}>
            ⤓
          </Button>
        ) : null}
      </div>
      <div
        className="jp-kf-log"
        ref={box}
        onScroll={onScroll}
        data-replica={props.replica}
        data-attempt={attempt === '' ? 'latest' : attempt}
        data-lines={lines.length}
        data-shown={shown.length}
      >
        <div style={{ height: start * ROW }} />
        {shown.slice(start, end).map(i => (
          <div key={i} className="jp-kf-log-row" data-line={i + 1}>
            {lines[i]}
          </div>
        ))}
        <div style={{ height: (shown.length - end) * ROW }} />
      </div>
      {query || note ? (
        <div className="jp-kf-log-note">
          {query ? `${shown.length} of ${lines.length} lines match. ` : ''}
          {note}
        </div>
      ) : null}
    </div>
  );
}
