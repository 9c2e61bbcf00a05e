import {
  DEFAULT_BACKOFF_LIMIT,
  availableKind,
  backoffLimit,
  chooseKind,
  cloneForm,
  createBody,
  emptyForm,
  kindChoices,
  kindValue,
  formProblems,
  splitArgs,
  suggestName
} from './form';

describe('the launch form', () => {
  const filled = { ...emptyForm(), name: 'mnist', script: 'exp/train.py' };

  it('becomes the JobCreate body of openapi.yaml', () => {
    expect(createBody(filled)).toEqual({ name: 'mnist', framework: 'pytorch', workers: 2, script: 'exp/train.py' });
    const cell = {
      ...filled,
      source: 'cell' as const,
      cell: 'print(1)',
      notebook: 'a/b.ipynb',
      gpus: 1,
      cpu: ' 2 ',
      memory: '4Gi',
      image: 'img:1',
      profile: 'gpu',
      args: "--lr 0.1 --name 'my run'"
    };
    expect(createBody(cell)).toEqual({
      name: 'mnist',
      framework: 'pytorch',
      workers: 2,
      cell: 'print(1)',
      notebook: 'a/b.ipynb',
      args: ['--lr', '0.1', '--name', 'my run'],
      resources: { cpu: '2', memory: '4Gi', gpu: 1 },
      image: 'img:1',
      profile: 'gpu'
    });
  });

  it('posts the restart policy and backoff limit only when they are not the defaults', () => {
    expect(emptyForm().backoffLimit).toBe(String(DEFAULT_BACKOFF_LIMIT));
    expect(createBody({ ...filled, backoffLimit: '3' })).not.toHaveProperty('run_policy');
    expect(createBody({ ...filled, backoffLimit: '' })).not.toHaveProperty('run_policy');
    expect(createBody({ ...filled, restartPolicy: 'Never', backoffLimit: '0' })).toMatchObject({
      restart_policy: 'Never',
      run_policy: { backoff_limit: 0 }
    });
    expect(createBody({ ...filled, backoffLimit: ' None ' }).run_policy).toEqual({ backoff_limit: null });
  });

  it.each([
    ['3', 3],
    ['', 3],
    ['0', 0],
    ['none', null],
    ['unlimited', null],
    ['-1', undefined],
    ['2.5', undefined],
    ['many', undefined]
  ])('reads the backoff limit %j', (text, value) => {
    expect(backoffLimit(text)).toBe(value);
  });

  it('refuses bad policies with a sentence', () => {
    expect(formProblems({ ...filled, backoffLimit: '-1' })).toEqual([
      'Backoff limit must be a whole number of at least 0, or "none" for no limit.'
    ]);
    expect(formProblems({ ...filled, restartPolicy: 'Sometimes' })[0]).toMatch(/Restart policy must be one of/);
  });

  it('names every problem it can see', () => {
    expect(formProblems(filled)).toEqual([]);
    const bad = { ...emptyForm(), name: 'Bad_Name', workers: 0, gpus: -1 };
    expect(formProblems(bad)).toHaveLength(4);
    expect(formProblems({ ...filled, name: '' })).toEqual(['Give the job a name.']);
    expect(formProblems({ ...filled, source: 'cell', cell: '  ' })[0]).toMatch(/cell is empty/);
    expect(formProblems({ ...filled, name: 'a'.repeat(64) })[0]).toMatch(/63/);
  });

  it.each([
    ['', []],
    ['a b', ['a', 'b']],
    ['--x "a b" \'c d\'', ['--x', 'a b', 'c d']]
  ])('splits %j like a shell', (text, args) => {
    expect(splitArgs(text)).toEqual(args);
  });

  it.each([
    ['experiments/Train MNIST.py', 'train-mnist'],
    ['2024_run.ipynb', 'run'],
    ['___.py', 'job'],
    ['a'.repeat(60) + '.py', 'a'.repeat(40)]
  ])('suggests a name for %s', (path, name) => {
    expect(suggestName(path)).toBe(name);
  });
});

describe('clone and re-run', () => {
  const frameworks = [
    { framework: 'pytorch', kind: 'PyTorchJob' },
    { framework: 'tensorflow', kind: 'TFJob' }
  ];
  const job = {
    name: 'mnist-2',
    kind: 'TFJob',
    workers: 3,
    image: 'ghcr.io/x/y:1',
    resources: { cpu: '2', memory: '4Gi', gpu: 1 },
    spec: {
      code: { source: 'print(1)\n', args: ['--lr', '0.1', '--note', 'two words'], origin: 'script' },
      restart_policy: 'ExitCode',
      run_policy: { backoff_limit: null }
    }
  };

  it('fills the form from the job, under a name not taken', () => {
    const form = cloneForm(job, frameworks, ['mnist-2', 'mnist-3']);
    expect(form).toMatchObject({
      name: 'mnist-4',
      framework: 'tensorflow',
      workers: 3,
      source: 'cell',
      cell: 'print(1)\n',
      args: '--lr 0.1 --note "two words"',
      cpu: '2',
      memory: '4Gi',
      gpus: 1,
      image: 'ghcr.io/x/y:1',
      restartPolicy: 'ExitCode',
      backoffLimit: 'none'
    });
    expect(formProblems(form)).toEqual([]);
    // What it launches is what the job ran.
    expect(createBody(form)).toMatchObject({ cell: 'print(1)\n', args: ['--lr', '0.1', '--note', 'two words'] });
  });

  it('keeps the default backoff limit when the job had it', () => {
    const form = cloneForm({ ...job, spec: { code: { source: 'x' } } }, frameworks, []);
    expect(form.backoffLimit).toBe(String(DEFAULT_BACKOFF_LIMIT));
    expect(form.name).toBe('mnist-2');
  });
});

describe('the runtime picker', () => {
  const frameworks = [
    { framework: 'pytorch', kind: 'PyTorchJob' },
    { framework: 'jax', kind: 'JAXJob' }
  ];
  const runtimes = [{ name: 'torch-distributed' }, { name: 'jax-distributed' }];

  it('offers the v1 kinds and the runtimes in one list', () => {
    expect(kindChoices(frameworks, runtimes)).toEqual([
      { value: 'pytorch', label: 'pytorch (PyTorchJob)' },
      { value: 'jax', label: 'jax (JAXJob)' },
      { value: 'runtime:torch-distributed', label: 'torch-distributed (TrainJob)' },
      { value: 'runtime:jax-distributed', label: 'jax-distributed (TrainJob)' }
    ]);
    expect(kindChoices(frameworks, [])).toHaveLength(2);
  });

  it('picks a kind the server offers: the first runtime where no v1 kind is served', () => {
    const v2only = kindChoices([], runtimes);
    expect(availableKind('pytorch', v2only)).toBe('runtime:torch-distributed');
    expect(availableKind('runtime:jax-distributed', v2only)).toBe('runtime:jax-distributed');
    expect(availableKind('jax', kindChoices(frameworks, runtimes))).toBe('jax');
    expect(availableKind('pytorch', [])).toBe('pytorch'); // nothing listed yet: unchanged
  });

  it('a picked runtime makes a TrainJob body with its nodes, a v1 kind a framework body', () => {
    const form = { ...emptyForm(), name: 'tj', script: 'train.py', ...chooseKind('runtime:torch-distributed') };
    expect(kindValue(form)).toBe('runtime:torch-distributed');
    expect(createBody(form)).toEqual({ name: 'tj', runtime: 'torch-distributed', workers: 2, script: 'train.py' });
    const back = { ...form, ...chooseKind('jax') };
    expect(back.runtime).toBe('');
    expect(createBody(back)).toEqual({ name: 'tj', framework: 'jax', workers: 2, script: 'train.py' });
  });

  it('a cloned TrainJob runs again on its runtime', () => {
    const job = {
      name: 'ddp',
      kind: 'TrainJob',
      workers: 3,
      extra: { runtime: 'torch-distributed' },
      spec: { code: { source: 'print(1)' }, runtime: 'torch-distributed' }
    };
    const form = cloneForm(job, frameworks, []);
    expect(form.runtime).toBe('torch-distributed');
    expect(createBody(form)).toMatchObject({ name: 'ddp-2', runtime: 'torch-distributed', workers: 3 });
    expect(createBody(form)).not.toHaveProperty('framework');
    // Read back from the spec when the server sent no extra.
    expect(cloneForm({ ...job, extra: undefined }, frameworks, []).runtime).toBe('torch-distributed');
  });
});
