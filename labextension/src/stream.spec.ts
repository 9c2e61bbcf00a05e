import { IUpdates, followJob } from './stream';

function reply(cursor: string, lines: string[], extra: Partial<IUpdates> = {}): IUpdates {
  return {
    cursor,
    state: `s-${cursor}`,
    job: null,
    events: [],
    metrics: [],
    logs: lines.length ? { 'master-0': lines } : {},
    deleted: false,
    done: false,
    ...extra
  };
}

/** A scripted server: each call takes the next step (a reply, or an error to throw). */
function server(steps: Array<IUpdates | Error>) {
  const asked: Array<[string, string]> = [];
  const fetch = async (since: string, state: string): Promise<IUpdates> => {
    asked.push([since, state]);
    const step = steps.shift();
    if (step === undefined) {
      return new Promise<IUpdates>(() => undefined); // a poll that waits forever
    }
    if (step instanceof Error) {
      throw step;
    }
    return step;
  };
  return { asked, fetch };
}

function httpError(status: number): Error {
  return Object.assign(new Error(`HTTP ${status}`), { status });
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) {
    await new Promise(resolve => setTimeout(resolve, 2));
  }
}

describe('followJob', () => {
  it('asks from each reply’s cursor and state, and stops when done', async () => {
    const { asked, fetch } = server([reply('c1', ['a', 'b']), reply('c2', ['c']), reply('c3', [], { done: true })]);
    const lines: string[] = [];
    let done = 0;
    followJob(fetch, { onUpdate: u => lines.push(...(u.logs['master-0'] ?? [])), onDone: () => done++ });
    await settle();
    expect(lines).toEqual(['a', 'b', 'c']);
    expect(asked).toEqual([
      ['', ''],
      ['c1', 's-c1'],
      ['c2', 's-c2']
    ]);
    expect(done).toBe(1);
  });

  it('resumes from the last cursor after a lost connection: nothing lost, nothing twice', async () => {
    const { asked, fetch } = server([
      reply('c1', ['a']),
      new Error('network down'),
      new Error('still down'),
      reply('c2', ['b']),
      reply('c3', ['c'], { done: true })
    ]);
    const lines: string[] = [];
    const errors: Array<[string, boolean]> = [];
    followJob(
      fetch,
      {
        onUpdate: u => lines.push(...(u.logs['master-0'] ?? [])),
        onError: (e, retrying) => errors.push([(e as Error).message, retrying])
      },
      { retryMs: 1 }
    );
    await settle();
    expect(lines).toEqual(['a', 'b', 'c']);
    expect(asked.map(([since]) => since)).toEqual(['', 'c1', 'c1', 'c1', 'c2']);
    expect(errors).toEqual([
      ['network down', true],
      ['still down', true]
    ]);
  });

  it('gives up on an error that asking again cannot fix (the job is gone)', async () => {
    const { asked, fetch } = server([reply('c1', ['a']), httpError(404), reply('c2', ['b'])]);
    const errors: boolean[] = [];
    followJob(fetch, { onUpdate: () => undefined, onError: (_e, retrying) => errors.push(retrying) }, { retryMs: 1 });
    await settle();
    expect(errors).toEqual([false]);
    expect(asked.length).toBe(2);
  });

  it('retries a busy server (503) and stops asking once stopped', async () => {
    const { asked, fetch } = server([httpError(503), reply('c1', ['a'])]);
    const lines: string[] = [];
    const stop = followJob(fetch, { onUpdate: u => lines.push(...(u.logs['master-0'] ?? [])) }, { retryMs: 1 });
    await settle();
    expect(lines).toEqual(['a']);
    expect(asked.length).toBe(3); // the third waits (a long poll) when stop comes
    stop();
    await settle();
    expect(asked.length).toBe(3);
  });
});
