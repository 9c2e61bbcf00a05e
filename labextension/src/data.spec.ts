import { dataBody, dataFromSpec, emptyData, emptySecret, emptyVolume } from './data';
import { cloneForm, createBody, emptyForm } from './form';

describe("the launch form's Data section", () => {
  const filled = { ...emptyForm(), name: 'mnist', script: 'train.py' };

  it('adds nothing to the body when left alone, or with blank rows', () => {
    expect(dataBody(emptyData())).toEqual({});
    expect(dataBody({ ...emptyData(), volumes: [emptyVolume()], secretEnv: [emptySecret()], shm: ' ' })).toEqual({});
    expect(createBody(filled)).toEqual({ name: 'mnist', framework: 'pytorch', workers: 2, script: 'train.py' });
  });

  it('becomes the flags of the magic and the CLI: claim:/path[:ro], VAR -> secret:key', () => {
    const body = createBody({
      ...filled,
      volumes: [
        { claim: ' datasets ', mount: '/data ', readOnly: true },
        { claim: 'scratch', mount: '/scratch', readOnly: false }
      ],
      home: true,
      shm: ' 2Gi ',
      secretEnv: [{ name: 'WANDB_API_KEY', secret: 'wandb', key: 'token' }]
    });
    expect(body).toMatchObject({
      volumes: ['datasets:/data:ro', 'scratch:/scratch'],
      home: true,
      shm: '2Gi',
      secret_env: { WANDB_API_KEY: 'wandb:token' }
    });
  });

  it('sends a half-filled row as it is, for the server to name what is wrong', () => {
    // The server answers "volume 'nocolon:' is not claim:/path[:ro]..." and "secret_env X:
    // 'other-ns/s' names another namespace": the same words as --volume and --secret-env.
    const body = dataBody({
      ...emptyData(),
      volumes: [{ claim: 'nocolon', mount: '', readOnly: false }],
      secretEnv: [{ name: 'X', secret: 'other-ns/s', key: 'k' }]
    });
    expect(body).toEqual({ volumes: ['nocolon:'], secret_env: { X: 'other-ns/s:k' } });
  });

  it('reads a job spec back, so a copy launches with the same data', () => {
    const spec = {
      volumes: [{ claim: 'datasets', mount: '/data', read_only: true }, { claim: 'out', mount: '/out' }],
      home: true,
      shm: '1Gi',
      secret_env: { TOKEN: 'tracker:token' }
    };
    expect(dataFromSpec(spec)).toEqual({
      volumes: [
        { claim: 'datasets', mount: '/data', readOnly: true },
        { claim: 'out', mount: '/out', readOnly: false }
      ],
      home: true,
      shm: '1Gi',
      secretEnv: [{ name: 'TOKEN', secret: 'tracker', key: 'token' }]
    });
    expect(dataFromSpec({})).toEqual(emptyData());
    const copy = cloneForm({ name: 'j', kind: 'PyTorchJob', spec }, [{ framework: 'pytorch', kind: 'PyTorchJob' }], []);
    expect(createBody(copy)).toMatchObject({
      volumes: ['datasets:/data:ro', 'out:/out'],
      home: true,
      shm: '1Gi',
      secret_env: { TOKEN: 'tracker:token' }
    });
  });
});
