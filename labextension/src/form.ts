/**
 * The launch form's state and the request body it becomes (pure; tested with jest).
 */

import { IDataForm, dataBody, dataFromSpec, emptyData } from './data';

/** The form's fields; the Data section's (volumes, home, shm, secret env) are in data.ts. */
export interface ILaunchForm extends IDataForm {
  name: string;
  /** A Training Operator v1 framework ('' when a runtime is chosen). */
  framework: string;
  /** A Trainer v2 runtime: the job is a TrainJob ('' for a v1 kind). */
  runtime: string;
  workers: number;
  gpus: number;
  cpu: string;
  memory: string;
  image: string;
  profile: string;
  source: 'script' | 'cell';
  script: string;
  cell: string;
  notebook: string;
  args: string;
  /** '' for the framework's own (OnFailure for PyTorch), else one of RESTART_POLICIES. */
  restartPolicy: string;
  /** Restarts before the job is Failed: a whole number, or "none" for no limit. */
  backoffLimit: string;
}

/** The job model's default (jupyter_kf.jobs.parts.DEFAULT_BACKOFF_LIMIT; a unit test checks). */
export const DEFAULT_BACKOFF_LIMIT = 3;
export const RESTART_POLICIES = ['OnFailure', 'Never', 'ExitCode', 'Always'];
const NO_LIMIT = ['none', 'unlimited'];

export function emptyForm(framework = 'pytorch', workers = 2): ILaunchForm {
  return {
    name: '',
    framework,
    runtime: '',
    workers,
    gpus: 0,
    cpu: '',
    memory: '',
    image: '',
    profile: '',
    source: 'script',
    script: '',
    cell: '',
    notebook: '',
    args: '',
    restartPolicy: '',
    backoffLimit: String(DEFAULT_BACKOFF_LIMIT),
    ...emptyData()
  };
}

/** The one picker's value for a runtime: v1 frameworks and runtimes share it. */
const RUNTIME = 'runtime:';

/** The kind picker: the v1 frameworks ("pytorch (PyTorchJob)") and the runtimes the server
 * lists ("torch-distributed (TrainJob)"), each value telling which it is. */
export function kindChoices(
  frameworks: Array<{ framework: string; kind: string }>,
  runtimes: Array<{ name: string }>
): Array<{ value: string; label: string }> {
  return [
    ...frameworks.map(f => ({ value: f.framework, label: `${f.framework} (${f.kind})` })),
    ...runtimes.map(r => ({ value: RUNTIME + r.name, label: `${r.name} (TrainJob)` }))
  ];
}

/** The picker's value of a form, and the form fields a picked value sets. */
export function kindValue(form: Pick<ILaunchForm, 'framework' | 'runtime'>): string {
  return form.runtime ? RUNTIME + form.runtime : form.framework;
}

/**
 * The picker's value to show: the form's own while the choices have it, else the first
 * choice (a cluster that serves only Trainer v2 offers no v1 framework, so the default
 * 'pytorch' would be refused at Launch), else the form's.
 */
export function availableKind(current: string, choices: Array<{ value: string }>): string {
  if (choices.length === 0 || choices.some(c => c.value === current)) {
    return current;
  }
  return choices[0].value;
}

export function chooseKind(value: string): Pick<ILaunchForm, 'framework' | 'runtime'> {
  return value.startsWith(RUNTIME)
    ? { framework: '', runtime: value.slice(RUNTIME.length) }
    : { framework: value, runtime: '' };
}

const DNS1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** Problems the form can see before asking the server (which checks everything again). */
export function formProblems(form: ILaunchForm): string[] {
  const problems: string[] = [];
  if (!form.name) {
    problems.push('Give the job a name.');
  } else if (!DNS1035.test(form.name) || form.name.length > 63) {
    problems.push(
      'The name may have lower-case letters, digits and "-", must start with a letter and ' +
        'end with a letter or digit (at most 63 characters).'
    );
  }
  if (!Number.isInteger(form.workers) || form.workers < 1) {
    problems.push('Workers must be a whole number of at least 1.');
  }
  if (!Number.isInteger(form.gpus) || form.gpus < 0) {
    problems.push('GPUs must be a whole number of at least 0.');
  }
  if (form.restartPolicy && !RESTART_POLICIES.includes(form.restartPolicy)) {
    problems.push(`Restart policy must be one of ${RESTART_POLICIES.join(', ')}.`);
  }
  if (backoffLimit(form.backoffLimit) === undefined) {
    problems.push('Backoff limit must be a whole number of at least 0, or "none" for no limit.');
  }
  if (form.source === 'script' && !form.script) {
    problems.push('Pick the script to run, or use the current notebook cell.');
  }
  if (form.source === 'cell' && !form.cell.trim()) {
    problems.push('The current cell is empty: select a cell with code in a notebook.');
  }
  return problems;
}

/** The backoff limit a field asks for: a number, null for no limit, undefined if invalid. */
export function backoffLimit(text: string): number | null | undefined {
  const word = text.trim().toLowerCase();
  if (word === '') {
    return DEFAULT_BACKOFF_LIMIT;
  }
  if (NO_LIMIT.includes(word)) {
    return null;
  }
  return /^[0-9]{1,9}$/.test(word) ? parseInt(word, 10) : undefined;
}

/** Split "--lr 0.1 --name 'my run'" the way a shell would (quotes, no expansion). */
export function splitArgs(text: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  let match: RegExpExecArray | null;
  while ((match = re.exec(text)) !== null) {
    out.push(match[1] ?? match[2] ?? match[3]);
  }
  return out;
}

/** The POST /kf/api/jobs body (openapi.yaml, JobCreate) for a form. */
export function createBody(form: ILaunchForm): Record<string, unknown> {
  const body: Record<string, unknown> = {
    name: form.name.trim(),
    ...(form.runtime ? { runtime: form.runtime } : { framework: form.framework }),
    workers: form.workers
  };
  if (form.source === 'script') {
    body.script = form.script;
  } else {
    body.cell = form.cell;
    if (form.notebook) {
      body.notebook = form.notebook;
    }
  }
  const args = splitArgs(form.args);
  if (args.length) {
    body.args = args;
  }
  const resources: Record<string, unknown> = {};
  if (form.cpu.trim()) {
    resources.cpu = form.cpu.trim();
  }
  if (form.memory.trim()) {
    resources.memory = form.memory.trim();
  }
  if (form.gpus > 0) {
    resources.gpu = form.gpus;
  }
  if (Object.keys(resources).length) {
    body.resources = resources;
  }
  if (form.image.trim()) {
    body.image = form.image.trim();
  }
  if (form.profile) {
    body.profile = form.profile;
  }
  if (form.restartPolicy) {
    body.restart_policy = form.restartPolicy;
  }
  const limit = backoffLimit(form.backoffLimit);
  if (limit !== undefined && limit !== DEFAULT_BACKOFF_LIMIT) {
    body.run_policy = { backoff_limit: limit };
  }
  return { ...body, ...dataBody(form) };
}

/** A job name from a file or notebook name: "Train MNIST.py" -> "train-mnist". */
export function suggestName(path: string): string {
  const base = (path.split('/').pop() ?? '').replace(/\.[^.]*$/, '');
  const slug = base
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .replace(/-+/g, '-')
    .replace(/-$/, '')
    .slice(0, 40)
    .replace(/-$/, '');
  return slug || 'job';
}

/**
 * The form that launches a copy of `job` (to change before launching): its code (as a cell,
 * so the copy runs exactly what the job ran), arguments, size, resources and policies, and
 * a name not yet taken.
 */
export function cloneForm(
  job: {
    name: string;
    kind: string;
    workers?: number | null;
    image?: string | null;
    resources?: { cpu?: string; memory?: string; gpu?: number };
    spec: Record<string, any> | null;
    extra?: { runtime?: string };
  },
  frameworks: Array<{ framework: string; kind: string }>,
  taken: string[]
): ILaunchForm {
  const spec = job.spec ?? {};
  const code = spec.code ?? {};
  // A TrainJob runs again on its runtime (the server's extra, else the spec read back).
  const runtime = job.kind === 'TrainJob' ? job.extra?.runtime ?? spec.runtime ?? '' : '';
  const framework = runtime ? '' : frameworks.find(f => f.kind === job.kind)?.framework ?? 'pytorch';
  const form = { ...emptyForm(framework, job.workers ?? 1), runtime };
  const base = job.name.replace(/-\d+$/, '');
  let n = 2;
  while (taken.includes(`${base}-${n}`)) {
    n += 1;
  }
  const quote = (a: string) => (/^[\w./=:,+-]+$/.test(a) ? a : `"${a}"`);
  const limit = spec.run_policy?.backoff_limit;
  return {
    ...form,
    name: `${base}-${n}`.slice(0, 63),
    source: 'cell',
    cell: typeof code.source === 'string' ? code.source : '',
    args: Array.isArray(code.args) ? code.args.map(String).map(quote).join(' ') : '',
    cpu: job.resources?.cpu ?? '',
    memory: job.resources?.memory ?? '',
    gpus: job.resources?.gpu ?? 0,
    image: job.image ?? '',
    restartPolicy: typeof spec.restart_policy === 'string' ? spec.restart_policy : '',
    backoffLimit: limit === null ? 'none' : limit === undefined ? form.backoffLimit : String(limit),
    ...dataFromSpec(spec)
  };
}
