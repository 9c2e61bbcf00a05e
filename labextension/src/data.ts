/**
 * The launch form's "Data" section (pure; tested with jest): PersistentVolumeClaims, the
 * home volume, /dev/shm and variables from Secrets, as the JobCreate body's `volumes`, `home`,
 * `shm` and `secret_env` (the --volume, --home, --shm and --secret-env of the magic and the
 * CLI). The server checks them with the job model's own validation, so a bad row gets the
 * same message here as there.
 */

export interface IVolumeRow {
  /** A PersistentVolumeClaim of the job's namespace. */
  claim: string;
  /** Where every replica mounts it, e.g. /data. */
  mount: string;
  readOnly: boolean;
}

export interface ISecretRow {
  /** The variable the workers see. */
  name: string;
  /** A Secret of the job's own namespace, and one of its keys. */
  secret: string;
  key: string;
}

export interface IDataForm {
  volumes: IVolumeRow[];
  home: boolean;
  shm: string;
  secretEnv: ISecretRow[];
}

export function emptyData(): IDataForm {
  return { volumes: [], home: false, shm: '', secretEnv: [] };
}

export const emptyVolume = (): IVolumeRow => ({ claim: '', mount: '', readOnly: false });
export const emptySecret = (): ISecretRow => ({ name: '', secret: '', key: '' });

/** The body fields a form's data asks for: only those given; a row left blank is no row. */
export function dataBody(form: IDataForm): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const volumes = form.volumes
    .filter(v => v.claim.trim() || v.mount.trim())
    .map(v => `${v.claim.trim()}:${v.mount.trim()}${v.readOnly ? ':ro' : ''}`);
  if (volumes.length) {
    body.volumes = volumes;
  }
  if (form.home) {
    body.home = true;
  }
  if (form.shm.trim()) {
    body.shm = form.shm.trim();
  }
  const secrets = form.secretEnv.filter(s => s.name.trim() || s.secret.trim() || s.key.trim());
  if (secrets.length) {
    body.secret_env = Object.fromEntries(
      secrets.map(s => [s.name.trim(), `${s.secret.trim()}:${s.key.trim()}`])
    );
  }
  return body;
}

/** The data of a job's spec (GET /kf/api/jobs/{name}), for a form that launches a copy. */
export function dataFromSpec(spec: Record<string, any>): IDataForm {
  const volumes = Array.isArray(spec.volumes) ? spec.volumes : [];
  const secretEnv = spec.secret_env && typeof spec.secret_env === 'object' ? spec.secret_env : {};
  return {
    volumes: volumes.map((v: any) => ({
      claim: String(v?.claim ?? ''),
      mount: String(v?.mount ?? ''),
      readOnly: v?.read_only === true
    })),
    home: spec.home === true,
    shm: typeof spec.shm === 'string' ? spec.shm : '',
    secretEnv: Object.entries(secretEnv).map(([name, ref]) => {
      const [secret, key] = String(ref).split(':');
      return { name, secret: secret ?? '', key: key ?? '' };
    })
  };
}
