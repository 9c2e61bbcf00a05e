import {
  IJobEvent,
  IJobSummary,
  allowedActions,
  applyJobEvent,
  formatAge,
  cameBack,
  formatDuration,
  jobProgress,
  metricSeries,
  newlyFinished,
  progressText,
  readableLines,
  reattachCode,
  toYaml,
  visibleJobs,
  visibleRows,
  matchingLines,
  polylines,
  phaseTone,
  polyline,
  replicaSummary,
  sortJobs,
  trainerProgressText,
  workersNoun
} from './jobs';

function job(name: string, phase: string, created: string | null = null, extra: Partial<IJobSummary> = {}): IJobSummary {
  return {
    name,
    namespace: 'local',
    kind: 'PyTorchJob',
    backend: 'local',
    created,
    workers: 2,
    status: { phase: phase as any, conditions: [] },
    replicas: [],
    ...extra
  };
}

function event(
  type: IJobEvent['type'],
  j: IJobSummary | null,
  name = j?.name ?? 'x',
  namespace = 'local',
  kind = j?.kind ?? 'PyTorchJob'
): IJobEvent {
  return { type, kind, name, namespace, phase: j?.status.phase ?? '', job: j };
}

describe('applyJobEvent', () => {
  const a = job('a', 'Running', '2026-01-01T00:00:00Z');
  const b = job('b', 'Pending', '2026-01-02T00:00:00Z');

  it('adds a new job, newest first', () => {
    expect(applyJobEvent([a], event('ADDED', b), 'local').map(j => j.name)).toEqual(['b', 'a']);
  });

  it('replaces a modified job in place', () => {
    const done = job('a', 'Succeeded', a.created);
    const out = applyJobEvent([b, a], event('MODIFIED', done), 'local');
    expect(out.map(j => [j.name, j.status.phase])).toEqual([
      ['b', 'Pending'],
      ['a', 'Succeeded']
    ]);
  });

  it('treats MODIFIED of an unknown job as an add (events may outrun the snapshot)', () => {
    expect(applyJobEvent([], event('MODIFIED', a), 'local')).toEqual([a]);
  });

  it('removes a deleted job, and ignores deleting an unknown one', () => {
    const jobs = [b, a];
    expect(applyJobEvent(jobs, event('DELETED', null, 'a'), 'local')).toEqual([b]);
    expect(applyJobEvent(jobs, event('DELETED', null, 'zz'), 'local')).toBe(jobs);
  });

  it('ignores other namespaces, unless none is chosen', () => {
    const other = { ...a, namespace: 'team' };
    expect(applyJobEvent([], event('ADDED', other, 'a', 'team'), 'local')).toEqual([]);
    expect(applyJobEvent([], event('ADDED', other, 'a', 'team'), '')).toEqual([other]);
  });
});

describe('sortJobs', () => {
  it('puts the newest first, undated last, ties by name', () => {
    const jobs = [job('c', 'Pending'), job('b', 'Pending', '2026-01-01T00:00:00Z'), job('a', 'Pending', '2026-01-01T00:00:00Z'), job('d', 'Pending', '2026-03-01T00:00:00Z')];
    expect(sortJobs(jobs).map(j => j.name)).toEqual(['d', 'a', 'b', 'c']);
  });
});

describe('labels', () => {
  it.each([
    ['Succeeded', 'ok'],
    ['Running', 'busy'],
    ['Restarting', 'warn'],
    ['Created', 'busy'],
    ['Failed', 'bad'],
    ['Suspended', 'idle'],
    ['Pending', 'idle']
  ])('phase %s has tone %s', (phase, tone) => {
    expect(phaseTone(phase)).toBe(tone);
  });

  it.each([
    [5, '5s'],
    [125, '2m'],
    [7300, '2h'],
    [3 * 86400 + 5, '3d']
  ])('%d seconds old reads %s', (seconds, text) => {
    const now = Date.parse('2026-05-01T12:00:00Z');
    expect(formatAge(new Date(now - seconds * 1000).toISOString(), now)).toBe(text);
  });

  it('has no age without a valid time', () => {
    expect(formatAge(null)).toBe('');
    expect(formatAge('yesterday')).toBe('');
  });

  it('counts replicas', () => {
    const r = (phase: string, index: number) => ({ role: 'Worker', index, name: `worker-${index}`, phase });
    expect(replicaSummary(job('a', 'Running', null, { replicas: [r('Running', 0), r('Pending', 1)] }))).toBe('1/2 running');
    expect(replicaSummary(job('a', 'Succeeded', null, { replicas: [r('Succeeded', 0)] }))).toBe('1/1 done');
    expect(replicaSummary(job('a', 'Pending', null, { replicas: [r('Pending', 0), r('Pending', 1)] }))).toBe('2 replicas');
    expect(replicaSummary(job('a', 'Pending'))).toBe('');
  });
});

describe('allowedActions', () => {
  it.each([
    ['Running', false, { scale: true, suspend: true, resume: false }],
    ['Suspended', true, { scale: true, suspend: false, resume: true }],
    ['Succeeded', false, { scale: false, suspend: false, resume: false }],
    ['Failed', false, { scale: false, suspend: false, resume: false }]
  ])('%s (suspended=%s)', (phase, suspended, expected) => {
    expect(allowedActions(job('a', phase as string, null, { suspended: suspended as boolean }))).toEqual(expected);
  });
});

describe('metrics', () => {
  it('makes one series per numeric field, from rank 0 only, by step', () => {
    const points = [
      { replica: 'master-0', time: 't', step: 0, loss: 1.0, accuracy: 0.1 },
      { replica: 'worker-0', time: 't', step: 0, loss: 9.0 },
      { replica: 'master-0', time: 't', step: 1, loss: 0.5, note: 'x' }
    ];
    expect(metricSeries(points)).toEqual([
      { name: 'loss', points: [{ x: 0, y: 1.0 }, { x: 1, y: 0.5 }], attempts: [0] },
      { name: 'accuracy', points: [{ x: 0, y: 0.1 }], attempts: [0] }
    ]);
  });

  it("takes rank 0 from the server, not from the replicas' names", () => {
    const points = [
      { replica: 'ps-0', step: 0, loss: 7.0 },
      { replica: 'worker-0', step: 0, loss: 1.0 },
      { replica: 'worker-0', step: 1, loss: 0.5 }
    ];
    expect(metricSeries(points, 'worker-0')).toEqual([
      { name: 'loss', points: [{ x: 0, y: 1.0 }, { x: 1, y: 0.5 }], attempts: [0] }
    ]);
    expect(metricSeries(points, 'chief-0')[0].points).toEqual([{ x: 0, y: 7.0 }]);
  });

  it('falls back to the point order without a step', () => {
    expect(metricSeries([{ replica: 'r', loss: 3 }, { replica: 'r', loss: 2 }])[0].points).toEqual([
      { x: 0, y: 3 },
      { x: 1, y: 2 }
    ]);
  });

  it('scales a polyline into the box, y up', () => {
    expect(polyline([{ x: 0, y: 0 }, { x: 10, y: 5 }], 100, 50)).toBe('0.0,50.0 100.0,0.0');
    expect(polyline([{ x: 1, y: 1 }], 100, 50)).toBe('50.0,25.0');
    expect(polyline([], 100, 50)).toBe('');
  });
});

describe('attempts and progress', () => {
  it('starts a new line when the step goes back (a restart), and plots no totals', () => {
    const points = [0, 1, 2, 0, 1].map((step, i) => ({ replica: 'm', step, total_steps: 9, loss: 10 - i }));
    const [loss, ...others] = metricSeries(points);
    expect(others).toEqual([]);
    expect(loss.attempts).toEqual([0, 3]);
    const lines = polylines(loss, 100, 50);
    expect(lines).toHaveLength(2);
    expect(lines[0].split(' ')).toHaveLength(3);
    expect(lines[1].split(' ')).toHaveLength(2);
  });

  const running = {
    created: '2026-05-01T12:00:00Z',
    rank0: 'm',
    status: { phase: 'Running' as const, conditions: [], startTime: '2026-05-01T12:00:00Z' }
  };
  const at = (s: number) => new Date(Date.parse('2026-05-01T12:00:00Z') + s * 1000).toISOString();

  it('tells elapsed time, steps per second and an ETA from total_steps', () => {
    const points = [0, 1, 2, 3, 4].map(step => ({ replica: 'm', time: at(10 + step * 2), step, total_steps: 25 }));
    const now = Date.parse(at(20));
    const p = jobProgress(running, points, now);
    expect(p).toEqual({ elapsed: 20, step: 4, total: 25, rate: 0.5, eta: 38 });
    expect(progressText(p)).toBe('elapsed 20s · 5/25 steps · 0.5 steps/s · ETA 38s');
    // The clock ticks: the same points a minute later.
    expect(jobProgress(running, points, now + 60_000).elapsed).toBe(80);
  });

  it('measures points without a time by when they arrived; no ETA without a total', () => {
    const points = [0, 10].map(step => ({ replica: 'm', step }));
    const arrived = [Date.parse(at(0)), Date.parse(at(4))];
    const p = jobProgress(running, points, Date.parse(at(4)), arrived);
    expect(p.rate).toBe(2.5);
    expect(p.eta).toBeNull();
    expect(progressText(p)).toBe('elapsed 4s · step 10 · 2.5 steps/s');
  });

  it('stops the clock at the end', () => {
    const done = { ...running, status: { ...running.status, phase: 'Succeeded' as const, completionTime: at(90) } };
    const p = jobProgress(done, [{ replica: 'm', step: 9, total_steps: 10, time: at(89) }], Date.parse(at(500)));
    expect(progressText(p)).toBe('elapsed 1m 30s · 10/10 steps');
  });

  it('formats durations', () => {
    expect([5, 65, 3725].map(formatDuration)).toEqual(['5s', '1m 05s', '1h 02m']);
  });
});

describe('job transitions', () => {
  it('follows a job anew when it comes back from Suspended', () => {
    expect(cameBack('Suspended', 'Running')).toBe(true);
    expect(cameBack('Suspended', 'Pending')).toBe(true);
    expect(cameBack('Running', 'Suspended')).toBe(false);
    expect(cameBack('Running', 'Running')).toBe(false);
  });

  it('finds the jobs that just ended, not those that had ended already', () => {
    const before = [job('a', 'Running'), job('b', 'Succeeded'), job('c', 'Running')];
    const after = [job('a', 'Failed'), job('b', 'Succeeded'), job('c', 'Running'), job('d', 'Succeeded')];
    expect(newlyFinished(before, after).map(j => j.name)).toEqual(['a']);
  });
});

describe('log lines', () => {
  it("leaves report()'s lines to the chart", () => {
    expect(readableLines(['step 1', '@@jupyter-kf-metric {"step": 1}', 'done'])).toEqual(['step 1', 'done']);
  });
});

describe('the list as a place to work', () => {
  const jobs = [
    job('mnist-a', 'Succeeded', '2026-05-01T10:00:00Z'),
    job('resnet', 'Failed', '2026-05-01T11:00:00Z'),
    job('mnist-b', 'Running', '2026-05-01T12:00:00Z', { kind: 'TFJob' })
  ];
  const names = (js: IJobSummary[]) => js.map(j => j.name);

  it('filters by every word, in name, kind and phase', () => {
    expect(names(visibleJobs(jobs, 'mnist'))).toEqual(['mnist-b', 'mnist-a']);
    expect(names(visibleJobs(jobs, 'MNIST tfjob'))).toEqual(['mnist-b']);
    expect(names(visibleJobs(jobs, 'failed'))).toEqual(['resnet']);
    expect(names(visibleJobs(jobs, 'nothing'))).toEqual([]);
  });

  it('sorts by age, name or phase (trouble first)', () => {
    expect(names(visibleJobs(jobs, '', 'oldest'))).toEqual(['mnist-a', 'resnet', 'mnist-b']);
    expect(names(visibleJobs(jobs, '', 'name'))).toEqual(['mnist-a', 'mnist-b', 'resnet']);
    expect(names(visibleJobs(jobs, '', 'phase'))).toEqual(['resnet', 'mnist-b', 'mnist-a']);
  });

  it('writes a spec as YAML', () => {
    const spec = {
      name: 'x',
      replicas: { Master: 1, Worker: 2 },
      code: { source: 'import os\nprint(1)\n', args: ['--lr', '0.1'], files: {} },
      env: { MODE: 'yes: no' },
      run_policy: { backoff_limit: null }
    };
    expect(toYaml(spec)).toBe(
      [
        'name: x',
        'replicas:',
        '  Master: 1',
        '  Worker: 2',
        'code:',
        '  source: |',
        '    import os',
        '    print(1)',
        '  args:',
        '  - --lr',
        '  - "0.1"',
        '  files: {}',
        'env:',
        '  MODE: "yes: no"',
        'run_policy:',
        '  backoff_limit: null'
      ].join('\n')
    );
  });

  it('reattaches to a job from a notebook', () => {
    expect(reattachCode({ kind: 'PyTorchJob', name: 'mnist', namespace: 'local', backend: 'local' })).toBe(
      '%load_ext jupyter_kf\n%kftrain monitor mnist --local'
    );
    // On a cluster by kind/name: a TrainJob may have the PyTorchJob's name.
    expect(reattachCode({ kind: 'TrainJob', name: 'mnist', namespace: 'team', backend: 'kubernetes' })).toBe(
      '%load_ext jupyter_kf\n%kftrain monitor TrainJob/mnist --cluster --namespace team'
    );
  });
});

describe('the log viewer', () => {
  it('draws only the rows in view (and a margin)', () => {
    expect(visibleRows(100_000, 0, 340, 17, 5)).toEqual({ start: 0, end: 25 });
    expect(visibleRows(100_000, 17 * 5000, 340, 17, 5)).toEqual({ start: 4995, end: 5025 });
    expect(visibleRows(10, 0, 340, 17, 5)).toEqual({ start: 0, end: 10 });
    // Scrolled far down, then a search left 3 lines: they are drawn.
    expect(visibleRows(3, 17 * 9000, 340, 17, 5)).toEqual({ start: 0, end: 3 });
  });

  it('finds lines by a search, any case', () => {
    expect(matchingLines(['Epoch 1', 'loss', 'epoch 2'], 'EPOCH')).toEqual([0, 2]);
    expect(matchingLines(['a', 'b'], '')).toEqual([0, 1]);
  });
});

describe('a TrainJob in the panel', () => {
  it("reads the Trainer's progress: percentage, ETA and metrics", () => {
    expect(
      trainerProgressText({ progressPercentage: 40, estimatedRemainingSeconds: 130, metrics: { loss: '0.31' } })
    ).toBe('Trainer: 40% · ETA 2m 10s · loss 0.31');
    expect(trainerProgressText({ progressPercentage: 100 })).toBe('Trainer: 100%');
    expect(trainerProgressText(undefined)).toBe('');
    expect(trainerProgressText({})).toBe('');
  });

  it('counts nodes, not workers', () => {
    expect(workersNoun('TrainJob')).toBe('nodes');
    expect(workersNoun('PyTorchJob')).toBe('workers');
  });
});
