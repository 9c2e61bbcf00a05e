import * as React from 'react';

import { phaseTone } from '../jobs';

/** A job's or replica's phase as a small coloured badge (colours from Lab's theme). */
export function PhaseBadge(props: { phase: string }): JSX.Element {
  return (
    <span className={`jp-kf-badge jp-kf-tone-${phaseTone(props.phase)}`} data-phase={props.phase}>
      {props.phase}
    </span>
  );
}
