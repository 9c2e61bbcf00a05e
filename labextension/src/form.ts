/**
 * The launch form's state and the request body it becomes (pure; tested with jest).
 */

export interface ILaunchForm {
  name: string;
  framework: string;
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
}

export function emptyForm(framework = 'pytorch', workers = 2): ILaunchForm {
  return {
    name: '',
    framework,
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
    args: ''
  };
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
  if (form.source === 'script' && !form.script) {
    problems.push('Pick the script to run, or use the current notebook cell.');
  }
  if (form.source === 'cell' && !form.cell.trim()) {
    problems.push('The current cell is empty: select a cell with code in a notebook.');
  }
  return problems;
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
    framework: form.framework,
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
  return body;
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
