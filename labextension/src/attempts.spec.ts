import { attemptOptions, earlierAttempts } from './attempts';

describe('earlierAttempts', () => {
  it.each([
    ['local', undefined, []],
    ['local', 0, []],
    ['local', 3, [0, 1, 2]],
    ['kubernetes', 0, []],
    ['kubernetes', 1, [0]],
    ['kubernetes', 5, [4]]
  ])('%s with %p restarts: %p', (backend, restarts, expected) => {
    expect(earlierAttempts(backend as string, restarts as number | undefined)).toEqual(expected);
  });
});

describe('attemptOptions', () => {
  it('offers the live log first, then earlier attempts newest first', () => {
    expect(attemptOptions(2, [0, 1])).toEqual([
      { label: 'live log (attempt 2 running or last)', value: '' },
      { label: 'attempt 1', value: '1' },
      { label: 'attempt 0', value: '0' }
    ]);
  });
});
