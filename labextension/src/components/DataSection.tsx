import { Button, InputGroup } from '@jupyterlab/ui-components';
import * as React from 'react';

import { IDataForm, ISecretRow, IVolumeRow, emptySecret, emptyVolume } from '../data';

export interface IDataSectionProps {
  data: IDataForm;
  /** Merge a change into the form. */
  set: (patch: Partial<IDataForm>) => void;
}

/** Replace row `i` of `rows` by `patch` merged into it (a new array: React state). */
function changed<T>(rows: T[], i: number, patch: Partial<T>): T[] {
  return rows.map((row, j) => (j === i ? { ...row, ...patch } : row));
}

function RemoveButton(props: { what: string; onClick: () => void }): JSX.Element {
  return (
    <Button type="button" small minimal onClick={props.onClick} title={`Remove this ${props.what}`} aria-label={`Remove this ${props.what}`}>
      ×
    </Button>
  );
}

/**
 * The job's data, compact: PersistentVolumeClaims of the namespace (claim, path, read-only),
 * the notebook's home volume, /dev/shm's size and variables from Secrets of the namespace.
 * Rows appear only when added, so a form without data stays short.
 */
export function DataSection(props: IDataSectionProps): JSX.Element {
  const { data, set } = props;
  const volume = (i: number, patch: Partial<IVolumeRow>) => set({ volumes: changed(data.volumes, i, patch) });
  const secret = (i: number, patch: Partial<ISecretRow>) => set({ secretEnv: changed(data.secretEnv, i, patch) });
  return (
    <div className="jp-kf-data" role="group" aria-label="Data">
      <div className="jp-kf-data-title">Data</div>
      <div className="jp-kf-field">
        <span className="jp-kf-field-label">Volumes</span>
        {data.volumes.map((v, i) => (
          <div className="jp-kf-row jp-kf-data-row jp-kf-volume-row" key={i}>
            <InputGroup
              name={`volume-claim-${i}`}
              aria-label="Claim"
              value={v.claim}
              placeholder="claim"
              title="A PersistentVolumeClaim of the job's namespace"
              onChange={e => volume(i, { claim: e.currentTarget.value })}
            />
            <InputGroup
              name={`volume-mount-${i}`}
              aria-label="Mount path"
              value={v.mount}
              placeholder="/data"
              title="Where every worker mounts it"
              onChange={e => volume(i, { mount: e.currentTarget.value })}
            />
            <label className="jp-kf-check" title="Mount it read-only">
              <input
                type="checkbox"
                name={`volume-ro-${i}`}
                checked={v.readOnly}
                onChange={e => volume(i, { readOnly: e.currentTarget.checked })}
              />{' '}
              ro
            </label>
            <RemoveButton what="volume" onClick={() => set({ volumes: data.volumes.filter((_, j) => j !== i) })} />
          </div>
        ))}
        <div className="jp-kf-row jp-kf-data-actions">
          <Button type="button" small minimal name="add-volume" onClick={() => set({ volumes: [...data.volumes, emptyVolume()] })}>
            + Volume
          </Button>
          <label className="jp-kf-check" title="Mount the notebook's home volume where the notebook has it">
            <input type="checkbox" name="home" checked={data.home} onChange={e => set({ home: e.currentTarget.checked })} /> My
            home volume
          </label>
        </div>
      </div>
      <label className="jp-kf-field" title="The size of /dev/shm, for data loaders">
        <span className="jp-kf-field-label">Shared memory</span>
        <InputGroup name="shm" value={data.shm} placeholder="e.g. 2Gi" onChange={e => set({ shm: e.currentTarget.value })} />
      </label>
      <div className="jp-kf-field">
        <span className="jp-kf-field-label">Secret variables</span>
        {data.secretEnv.map((s, i) => (
          <div className="jp-kf-row jp-kf-data-row jp-kf-secret-row" key={i}>
            <InputGroup
              name={`secret-name-${i}`}
              aria-label="Variable"
              value={s.name}
              placeholder="VARIABLE"
              title="The variable the workers see, e.g. WANDB_API_KEY"
              onChange={e => secret(i, { name: e.currentTarget.value })}
            />
            <InputGroup
              name={`secret-secret-${i}`}
              aria-label="Secret"
              value={s.secret}
              placeholder="secret"
              title="A Secret of the job's own namespace"
              onChange={e => secret(i, { secret: e.currentTarget.value })}
            />
            <InputGroup
              name={`secret-key-${i}`}
              aria-label="Key"
              value={s.key}
              placeholder="key"
              title="One of the Secret's keys"
              onChange={e => secret(i, { key: e.currentTarget.value })}
            />
            <RemoveButton what="variable" onClick={() => set({ secretEnv: data.secretEnv.filter((_, j) => j !== i) })} />
          </div>
        ))}
        <Button
          type="button"
          small
          minimal
          name="add-secret"
          title="A variable from a key of a Secret in the job's namespace"
          onClick={() => set({ secretEnv: [...data.secretEnv, emptySecret()] })}
        >
          + Secret variable
        </Button>
      </div>
    </div>
  );
}
