/**
 * A PyTorchJob and a TrainJob of one name (the API allows both in a namespace) are two jobs
 * in the panel: in the list, the selection, the detail view's requests and the model.
 */
import { IJobEvent, IJobSummary, KFApi, applyJobEvent, findJob, jobId, jobKey, jobRef, newlyFinished } from './api';
import { JobsModel } from './model';

function job(kind: string, phase = 'Running', backend = 'kubernetes'): IJobSummary {
  return {
    name: 'dup',
    namespace: 'team',
    kind,
    backend,
    created: kind === 'TrainJob' ? '2026-01-02T00:00:00Z' : '2026-01-01T00:00:00Z',
    workers: 2,
    status: { phase: phase as any, conditions: [] },
    replicas: []
  };
}

function event(type: IJobEvent['type'], kind: string, j: IJobSummary | null): IJobEvent {
  return { type, kind, name: 'dup', namespace: 'team', phase: j?.status.phase ?? '', job: j };
}

const pytorch = job('PyTorchJob');
const trainjob = job('TrainJob');

describe('jobs of one name and two kinds', () => {
  it('have their own ids and keys', () => {
    expect(jobId(pytorch)).toBe('PyTorchJob/dup');
    expect(jobId(trainjob)).toBe('TrainJob/dup');
    expect(jobKey(trainjob)).toBe('team/TrainJob/dup');
    expect(new Set([pytorch, trainjob].map(jobKey)).size).toBe(2);
  });

  it('are asked for by kind/name on a cluster, by name locally (names are unique there)', () => {
    expect(jobRef(trainjob)).toBe('TrainJob/dup');
    expect(jobRef(job('PyTorchJob', 'Running', 'local'))).toBe('dup');
  });

  it('are both listed; an event changes or deletes only its own kind', () => {
    let jobs = applyJobEvent([], event('ADDED', 'PyTorchJob', pytorch), 'team');
    jobs = applyJobEvent(jobs, event('ADDED', 'TrainJob', trainjob), 'team');
    expect(jobs.map(jobId)).toEqual(['TrainJob/dup', 'PyTorchJob/dup']);

    const done = job('TrainJob', 'Succeeded');
    const after = applyJobEvent(jobs, event('MODIFIED', 'TrainJob', done), 'team');
    expect(after.map(j => [jobId(j), j.status.phase])).toEqual([
      ['TrainJob/dup', 'Succeeded'],
      ['PyTorchJob/dup', 'Running']
    ]);
    expect(newlyFinished(jobs, after).map(jobId)).toEqual(['TrainJob/dup']);

    expect(applyJobEvent(after, event('DELETED', 'PyTorchJob', null), 'team').map(jobId)).toEqual([
      'TrainJob/dup'
    ]);
  });

  it('are found by id, and a bare name finds the first of its name', () => {
    const jobs = [pytorch, trainjob];
    expect(findJob(jobs, 'TrainJob/dup')).toBe(trainjob);
    expect(findJob(jobs, 'PyTorchJob/dup')).toBe(pytorch);
    expect(findJob(jobs, 'dup')).toBe(pytorch);
    expect(findJob(jobs, 'TFJob/dup')).toBeUndefined();
    expect(findJob(jobs, null)).toBeUndefined();
  });
});

describe('the model', () => {
  it('selects and removes one kind of a shared name', () => {
    const model = new JobsModel({} as KFApi);
    model.upsert(pytorch);
    model.upsert(trainjob);
    expect(model.jobs.map(jobId)).toEqual(['TrainJob/dup', 'PyTorchJob/dup']);
    model.select(jobId(trainjob));
    expect(findJob(model.jobs, model.selected)).toBe(trainjob);

    model.remove(jobId(pytorch));
    expect(model.jobs.map(jobId)).toEqual(['TrainJob/dup']);
    expect(model.selected).toBe('TrainJob/dup'); // the other kind's job stays selected
    model.remove(jobId(trainjob));
    expect(model.jobs).toEqual([]);
    expect(model.selected).toBeNull();
  });
});
