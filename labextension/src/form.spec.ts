import { createBody, emptyForm, formProblems, splitArgs, suggestName } from './form';

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
