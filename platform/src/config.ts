/**
 * Configuration is read from the environment once, in each process's `main.ts`, and
 * validated there: a bad value stops start-up with a message that names the variable.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

export function envString(env: Env, name: string, fallback?: string): string {
  const value = env[name]?.trim();
  if (value) return value;
  if (fallback !== undefined) return fallback;
  throw new ConfigError(`${name} is required but not set.`);
}

export function envOptional(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

export function envNumber(
  env: Env,
  name: string,
  fallback: number,
  { min = -Infinity, max = Infinity, integer = false }: { min?: number; max?: number; integer?: boolean } = {},
): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
    const kind = integer ? 'an integer' : 'a number';
    throw new ConfigError(`${name} must be ${kind} from ${min} to ${max}; got ${JSON.stringify(raw)}.`);
  }
  return value;
}

export const envPort = (env: Env, name: string, fallback: number) =>
  envNumber(env, name, fallback, { min: 0, max: 65_535, integer: true });

/**
 * A URL as it may be shown in a message or a log: whatever stands between the scheme and the
 * last `@` (user, password, token) becomes `***`, even when the URL does not parse.
 * @example redactUrl('mongodb://app:s3cret@db:27017/x') // → 'mongodb://***@db:27017/x'
 */
export function redactUrl(value: string): string {
  const at = value.lastIndexOf('@');
  if (at < 0) return value;
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(value)?.[0] ?? '';
  return `${scheme}***${value.slice(at)}`;
}

export function envUrl(env: Env, name: string, protocols: readonly string[], fallback?: string): string {
  const value = envString(env, name, fallback);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${name} must be a URL (${protocols.join(' or ')}); got ${JSON.stringify(redactUrl(value))}.`);
  }
  if (!protocols.includes(url.protocol.replace(/:$/, ''))) {
    throw new ConfigError(`${name} must use ${protocols.join(' or ')}; got ${JSON.stringify(redactUrl(value))}.`);
  }
  return value;
}

/**
 * A comma-separated list of URLs (a NATS cluster's servers), each checked like `envUrl`;
 * returned as it was given.
 * @example envUrlList({ NATS_URL: 'nats://a:4222,nats://b:4222' }, 'NATS_URL', ['nats'])
 */
export function envUrlList(env: Env, name: string, protocols: readonly string[], fallback?: string): string {
  const value = envString(env, name, fallback);
  const entries = value.split(',').map((entry) => entry.trim());
  if (entries.some((entry) => entry === '')) throw new ConfigError(`${name} must be a URL or a comma-separated list of URLs, without empty entries.`);
  entries.forEach((entry, index) => {
    const label = entries.length === 1 ? name : `${name} (entry ${index + 1})`;
    envUrl({ [label]: entry }, label, protocols);
  });
  return value;
}

/**
 * How many copies of the event stream and of every KV bucket JetStream keeps
 * (`EVENT_STREAM_REPLICAS`): 1 on a server alone; 3 (or 5) on a cluster, so a node may fail.
 * Unset: undefined (the bootstrap step creates with 1 and leaves an existing count alone, so a
 * run without the variable never scales a cluster's stream down).
 */
export const readEventStreamReplicas = (env: Env): number | undefined =>
  envOptional(env, 'EVENT_STREAM_REPLICAS') === undefined ? undefined : envNumber(env, 'EVENT_STREAM_REPLICAS', 1, { min: 1, max: 5, integer: true });

/**
 * The bootstrap step's bounds on the idempotency buckets (the other buckets' are fixed in
 * eventstore/src/store-bounds.ts): `IDEMPOTENCY_KEYS_MAX_BYTES` (each of the two buckets) and
 * `IDEMPOTENCY_FINGERPRINT_RETENTION_MS` (how long a key's fingerprint says CONFLICT).
 */
export const readIdempotencyBounds = (env: Env) => ({
  idempotencyMaxBytes: envNumber(env, 'IDEMPOTENCY_KEYS_MAX_BYTES', 256 * 1024 * 1024, { min: 1024 * 1024, max: 2 ** 40, integer: true }),
  idempotencyRetentionMs: envNumber(env, 'IDEMPOTENCY_FINGERPRINT_RETENTION_MS', 30 * 24 * 60 * 60_000, { min: 24 * 60 * 60_000, max: 365 * 24 * 60 * 60_000, integer: true }),
});

/** The most Idempotency-Keys one caller may hold (write subgraphs): `IDEMPOTENCY_KEYS_PER_CALLER`. */
export const readIdempotencyKeysPerCaller = (env: Env) => envNumber(env, 'IDEMPOTENCY_KEYS_PER_CALLER', 10_000, { min: 1, max: 10_000_000, integer: true });

export function envEnum<T extends string>(env: Env, name: string, values: readonly T[], fallback: T): T {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (!(values as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name} must be one of ${values.join(', ')}; got ${JSON.stringify(raw)}.`);
  }
  return raw as T;
}

/** What every process needs: where the servers are, who signs tokens, how loudly to log. */
export interface CommonConfig {
  natsUrl: string;
  mongoUrl: string;
  mongoDatabase: string;
  environment: 'development' | 'production' | 'test';
  logLevel: string;
  /** The address HTTP servers listen on: loopback unless `HOST` says otherwise (0.0.0.0 in containers). */
  host: string;
  auth: AuthConfig;
}

export interface AuthConfig {
  /** HS256 secret; ignored when `jwksUrl` is set. */
  jwtSecret: string;
  /** RS256 key set URL, instead of the shared secret. */
  jwksUrl?: string;
  /** When set, a token's `iss` must equal it (required with `jwksUrl`). */
  issuer?: string;
  /** When set, a token's `aud` must contain it (required with `jwksUrl`). */
  audience?: string;
  usesDevSecret: boolean;
}

/** The documented development secret: `npm run token` signs with it when `JWT_SECRET` is unset. */
export const DEV_JWT_SECRET = 'happyride-dev-secret-do-not-use-in-production';

/** HS256 needs a key at least as long as its hash (RFC 7518 §3.2): 256 bits. */
export const MIN_JWT_SECRET_BYTES = 32;

/** Whether an address is this machine only (`HOST` / `GATEWAY_METRICS_HOST` values). */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^(::ffff:)?127(\.\d{1,3}){3}$/.test(bare);
}

/**
 * Who signs tokens and what they must say. Checks what needs no knowledge of the process
 * (see `refuseDevSecretWhenExposed` for that): a secret of at least 32 bytes, a key set on
 * https (http only on loopback) that comes with an issuer and an audience.
 */
export function readAuthConfig(env: Env): AuthConfig {
  const jwtSecret = envString(env, 'JWT_SECRET', DEV_JWT_SECRET);
  const bytes = Buffer.byteLength(jwtSecret, 'utf8');
  if (bytes < MIN_JWT_SECRET_BYTES) {
    throw new ConfigError(`JWT_SECRET must be at least ${MIN_JWT_SECRET_BYTES} bytes (it has ${bytes}): e.g. \`openssl rand -base64 48\`.`);
  }
  const jwksUrl = envOptional(env, 'JWT_JWKS_URL');
  if (jwksUrl) {
    envUrl(env, 'JWT_JWKS_URL', ['https', 'http']);
    const url = new URL(jwksUrl);
    if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
      throw new ConfigError('JWT_JWKS_URL must use https (plain http only on loopback: 127.0.0.1, ::1, localhost).');
    }
  }
  const issuer = envOptional(env, 'JWT_ISSUER');
  const audience = envOptional(env, 'JWT_AUDIENCE');
  if (jwksUrl && (!issuer || !audience)) {
    throw new ConfigError('JWT_ISSUER and JWT_AUDIENCE are required with JWT_JWKS_URL: a key set signs tokens for many parties.');
  }
  return {
    jwtSecret,
    usesDevSecret: jwtSecret === DEV_JWT_SECRET,
    ...(jwksUrl ? { jwksUrl } : {}),
    ...(issuer ? { issuer } : {}),
    ...(audience ? { audience } : {}),
  };
}

/**
 * The public development secret is for a process on this machine only: refused in
 * production and whenever it listens beyond loopback (anyone could sign an admin token).
 */
export function refuseDevSecretWhenExposed(auth: AuthConfig, { environment, host }: { environment: string; host: string }): void {
  if (!auth.usesDevSecret || auth.jwksUrl) return;
  if (environment === 'production') throw new ConfigError('JWT_SECRET must be set in production (the development default is public).');
  if (!isLoopbackHost(host)) {
    throw new ConfigError(`JWT_SECRET must be set when HOST is not loopback (HOST=${host}): the development default is public.`);
  }
}

/** Where the event log is (`NATS_URL`): read only by the processes that use NATS. */
export const readNatsUrl = (env: Env): string => envUrlList(env, 'NATS_URL', ['nats', 'tls', 'ws', 'wss']);

/** Where the read models and the worker state are (`MONGODB_URL`): read only by the processes that use MongoDB. */
export const readMongoConfig = (env: Env): Pick<CommonConfig, 'mongoUrl' | 'mongoDatabase'> => ({
  mongoUrl: envUrl(env, 'MONGODB_URL', ['mongodb', 'mongodb+srv']),
  mongoDatabase: envString(env, 'MONGODB_DATABASE', 'happyride'),
});

/** What every process reads, none of it a secret. */
export const readProcessConfig = (env: Env): Pick<CommonConfig, 'environment' | 'logLevel' | 'host'> => ({
  environment: envEnum(env, 'NODE_ENV', ['development', 'production', 'test'], 'development'),
  logLevel: envEnum(env, 'LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
  host: envString(env, 'HOST', '127.0.0.1'),
});

/** The token settings of a process that verifies tokens (`readAuthConfig`), the public dev secret refused where it is exposed. */
export function readVerifierAuth(env: Env, process: { environment: string; host: string }): AuthConfig {
  const auth = readAuthConfig(env);
  refuseDevSecretWhenExposed(auth, process);
  return auth;
}

/**
 * All of the above at once. Each process's `main` reads only the parts it uses instead (a
 * secret it does not use is not required, so a deployment need not hand it over).
 */
export function readCommonConfig(env: Env): CommonConfig {
  const natsUrl = readNatsUrl(env);
  const mongo = readMongoConfig(env);
  const process = readProcessConfig(env);
  return { natsUrl, ...mongo, ...process, auth: readVerifierAuth(env, process) };
}
