import { Button, HTMLSelect, InputGroup } from '@jupyterlab/ui-components';
import * as React from 'react';

import { IRuntime, IServerConfig } from '../api';
import {
  ILaunchForm,
  RESTART_POLICIES,
  availableKind,
  chooseKind,
  createBody,
  emptyForm,
  formProblems,
  kindChoices,
  kindValue,
  suggestName
} from '../form';
import { DataSection } from './DataSection';

export interface ILaunchFormProps {
  config: IServerConfig | null;
  defaults: { framework: string; workers: number };
  /** The Trainer v2 runtimes the picker offers beside the v1 kinds (none where it fails). */
  loadRuntimes?: () => Promise<IRuntime[]>;
  /** Submit a body; resolves to a user-facing error message, or '' on success. */
  onLaunch: (body: Record<string, unknown>) => Promise<string>;
  onCancel: () => void;
  /** Open Lab's file dialog; resolves to a path under the server root. */
  pickScript: () => Promise<string | null>;
  /** The active notebook's current cell, if any. */
  currentCell: () => { source: string; notebook: string } | null;
  /** Set when the form is opened from the "launch current cell" command. */
  initial?: Partial<ILaunchForm>;
}

function Field(props: { label: string; children: React.ReactNode; hint?: string }): JSX.Element {
  return (
    <label className="jp-kf-field">
      <span className="jp-kf-field-label">{props.label}</span>
      {props.children}
      {props.hint ? <span className="jp-kf-field-hint">{props.hint}</span> : null}
    </label>
  );
}

/** Framework, workers, resources, image and the code (a script file or the current cell). */
export function LaunchForm(props: ILaunchFormProps): JSX.Element {
  const [form, setForm] = React.useState<ILaunchForm>({
    ...emptyForm(props.defaults.framework, props.defaults.workers),
    ...props.initial
  });
  const [busy, setBusy] = React.useState(false);
  // The server's (or the cell picker's) message; cleared by the next change.
  const [error, setError] = React.useState('');
  // After a first Launch, the form's own problems show live: each goes once it is fixed.
  const [tried, setTried] = React.useState(false);
  const set = (patch: Partial<ILaunchForm>) => {
    setError('');
    setForm(f => ({ ...f, ...patch }));
  };
  const problems = tried ? formProblems(form) : [];
  const [runtimes, setRuntimes] = React.useState<IRuntime[]>([]);
  React.useEffect(() => {
    let live = true;
    // A server without Trainer v2 (or a refused list) still launches the v1 kinds.
    props
      .loadRuntimes?.()
      .then(found => live && setRuntimes(found))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, []);
  // What the server runs: "pytorch (PyTorchJob)", ..., "torch-distributed (TrainJob)".
  const kinds = kindChoices(props.config?.frameworks ?? [{ framework: 'pytorch', kind: 'PyTorchJob' }], runtimes);
  if (form.runtime && !runtimes.some(r => r.name === form.runtime)) {
    // A clone's runtime before the list comes (or one the list no longer has): still shown.
    kinds.push({ value: kindValue(form), label: `${form.runtime} (TrainJob)` });
  }
  // A kind the server does not offer (pytorch on a cluster with only Trainer v2) would be
  // refused at Launch: the picker moves to the first one it offers.
  const offered = availableKind(kindValue(form), kinds);
  React.useEffect(() => {
    if (offered !== kindValue(form)) {
      setForm(f => ({ ...f, ...chooseKind(offered) }));
    }
  }, [offered]);
  const profiles = props.config?.profiles ?? [];

  const browse = async () => {
    const path = await props.pickScript();
    if (path) {
      set({ script: path, source: 'script', name: form.name || suggestName(path) });
    }
  };
  const useCell = () => {
    const cell = props.currentCell();
    if (!cell) {
      setError('Open a notebook and select the cell to run first.');
      return;
    }
    setError('');
    set({
      source: 'cell',
      cell: cell.source,
      notebook: cell.notebook,
      name: form.name || suggestName(cell.notebook)
    });
  };
  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    setTried(true);
    if (formProblems(form).length) {
      return;
    }
    setBusy(true);
    const message = await props.onLaunch(createBody(form));
    setBusy(false);
    setError(message);
  };

  return (
    <form className="jp-kf-form" onSubmit={submit} aria-label="Launch a training job">
      <div className="jp-kf-section-title">New training job</div>
      <Field label="Name">
        <InputGroup
          name="name"
          value={form.name}
          placeholder="e.g. mnist-ddp"
          onChange={e => set({ name: e.currentTarget.value })}
        />
      </Field>
      <Field label="Framework or runtime">
        <HTMLSelect
          name="framework"
          value={kindValue(form)}
          options={kinds}
          onChange={e => set(chooseKind(e.currentTarget.value))}
        />
      </Field>
      <div className="jp-kf-row">
        <Field label={form.runtime ? 'Nodes' : 'Workers'}>
          <InputGroup
            name="workers"
            type="number"
            min={1}
            value={String(form.workers)}
            onChange={e => set({ workers: parseInt(e.currentTarget.value, 10) || 0 })}
          />
        </Field>
        <Field label="GPUs">
          <InputGroup
            name="gpus"
            type="number"
            min={0}
            value={String(form.gpus)}
            onChange={e => set({ gpus: parseInt(e.currentTarget.value, 10) || 0 })}
          />
        </Field>
      </div>
      <div className="jp-kf-row">
        <Field label="CPU">
          <InputGroup
            name="cpu"
            value={form.cpu}
            placeholder="e.g. 2"
            onChange={e => set({ cpu: e.currentTarget.value })}
          />
        </Field>
        <Field label="Memory">
          <InputGroup
            name="memory"
            value={form.memory}
            placeholder="e.g. 4Gi"
            onChange={e => set({ memory: e.currentTarget.value })}
          />
        </Field>
      </div>
      {profiles.length ? (
        <Field label="Profile">
          <HTMLSelect
            name="profile"
            value={form.profile}
            options={[{ value: '', label: 'None' }, ...profiles.map(p => ({ value: p.name, label: p.display_name || p.name }))]}
            onChange={e => set({ profile: e.currentTarget.value })}
          />
        </Field>
      ) : null}
      <Field label="Image" hint={props.config?.backend === 'local' ? 'Ignored locally: workers run this server’s Python.' : undefined}>
        <InputGroup
          name="image"
          value={form.image}
          placeholder={props.config?.defaultImage || 'the notebook’s image'}
          onChange={e => set({ image: e.currentTarget.value })}
        />
      </Field>
      <div className="jp-kf-field">
        <span className="jp-kf-field-label">Code</span>
        <div className="jp-kf-source" role="radiogroup">
          <label>
            <input
              type="radio"
              name="source"
              value="script"
              checked={form.source === 'script'}
              onChange={() => set({ source: 'script' })}
            />{' '}
            A script
          </label>
          <label>
            <input type="radio" name="source" value="cell" checked={form.source === 'cell'} onChange={useCell} /> The
            current notebook cell
          </label>
        </div>
        {form.source === 'script' ? (
          <div className="jp-kf-row">
            <InputGroup
              name="script"
              value={form.script}
              placeholder="path/to/train.py"
              onChange={e => set({ script: e.currentTarget.value })}
            />
            <Button type="button" small minimal onClick={browse} title="Pick the script in the file browser">
              Browse…
            </Button>
          </div>
        ) : (
          <pre className="jp-kf-cell-preview" title={form.notebook}>
            {form.cell.split('\n').slice(0, 6).join('\n')}
          </pre>
        )}
      </div>
      <Field label="Arguments">
        <InputGroup name="args" value={form.args} placeholder="e.g. --epochs 3" onChange={e => set({ args: e.currentTarget.value })} />
      </Field>
      <DataSection data={form} set={set} />
      <Field label="Restart policy">
        <HTMLSelect
          name="restartPolicy"
          value={form.restartPolicy}
          options={[{ value: '', label: 'Framework default' }, ...RESTART_POLICIES]}
          onChange={e => set({ restartPolicy: e.currentTarget.value })}
        />
      </Field>
      <Field label="Backoff limit" hint='Restarts before the job fails; "none": no limit.'>
        <InputGroup
          name="backoffLimit"
          value={form.backoffLimit}
          onChange={e => set({ backoffLimit: e.currentTarget.value })}
        />
      </Field>
      {problems.length || error ? (
        <div className="jp-kf-error" role="alert">
          {problems.length ? (
            <ul>
              {problems.map(p => (
                <li key={p}>{p}</li>
              ))}
            </ul>
          ) : null}
          {error}
        </div>
      ) : null}
      <div className="jp-kf-actions">
        <button type="button" className="jp-mod-styled jp-mod-reject" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="submit" name="launch" className="jp-mod-styled jp-mod-accept" disabled={busy}>
          {busy ? 'Launching…' : 'Launch'}
        </button>
      </div>
    </form>
  );
}
