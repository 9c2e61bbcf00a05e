import { Button, HTMLSelect } from '@jupyterlab/ui-components';
import * as React from 'react';

import { matchingLines, visibleRows } from '../jobs';

/** Must match `.jp-kf-log-row`'s height in style/base.css: rows are placed by it. */
const ROW = 17;

/**
 * A replica's log as the stream delivers it: virtualised (only the rows in view are in the
 * page, so 100,000 lines scroll as fast as 100), a search that keeps only matching lines,
 * a follow toggle (scrolling up pauses it, scrolling to the end resumes it), the replica
 * selector and a download of the whole log.
 */
export function LogView(props: {
  replicas: string[];
  replica: string;
  onReplica: (replica: string) => void;
  lines: string[];
  note: string;
  onDownload?: () => void;
}): JSX.Element {
  const box = React.useRef<HTMLDivElement>(null);
  const [query, setQuery] = React.useState('');
  const [follow, setFollow] = React.useState(true);
  const [scroll, setScroll] = React.useState({ top: 0, height: 240 });
  const shown = React.useMemo(() => matchingLines(props.lines, query), [props.lines, query]);

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
        data-lines={props.lines.length}
        data-shown={shown.length}
      >
        <div style={{ height: start * ROW }} />
        {shown.slice(start, end).map(i => (
          <div key={i} className="jp-kf-log-row" data-line={i + 1}>
            {props.lines[i]}
          </div>
        ))}
        <div style={{ height: (shown.length - end) * ROW }} />
      </div>
      {query || props.note ? (
        <div className="jp-kf-log-note">
          {query ? `${shown.length} of ${props.lines.length} lines match. ` : ''}
          {props.note}
        </div>
      ) : null}
    </div>
  );
}
