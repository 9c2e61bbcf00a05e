import * as React from 'react';

/** The time now (epoch ms), re-read every `ms` so ages and durations tick while shown. */
export function useNow(ms = 1000): number {
  const [now, setNow] = React.useState(Date.now());
  React.useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}
