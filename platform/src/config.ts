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

export function envUrl(env: Env, name: string, protocols: readonly string[], fallback?: string): string {
  const value = envString(env, name, fallback);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${name} must be a URL (${protocols.join(' or ')}); got ${JSON.stringify(value)}.`);
  }
  if (!protocols.includes(url.protocol.replace(/:$/, ''))) {
    throw new ConfigError(`${name} must use ${protocols.join(' or ')}; got ${JSON.stringify(value)}.`);
  }
  return value;
}

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
  usesDevSecret: boolean;
}

/** The documented development secret: `npm run token` signs with it when `JWT_SECRET` is unset. */
export const DEV_JWT_SECRET = 'happyride-dev-secret-do-not-use-in-production';

export function readAuthConfig(env: Env): AuthConfig {
  const jwtSecret = envString(env, 'JWT_SECRET', DEV_JWT_SECRET);
  if (jwtSecret.length < 16) throw new ConfigError('JWT_SECRET must be at least 16 characters.');
  const jwksUrl = envOptional(env, 'JWT_JWKS_URL');
  if (jwksUrl) envUrl(env, 'JWT_JWKS_URL', ['https', 'http']);
  const environment = envEnum(env, 'NODE_ENV', ['development', 'production', 'test'], 'development');
  if (environment === 'production' && jwtSecret === DEV_JWT_SECRET && !jwksUrl) {
    throw new ConfigError('JWT_SECRET must be set in production (the development default is public).');
  }
  return { jwtSecret, usesDevSecret: jwtSecret === DEV_JWT_SECRET, ...(jwksUrl ? { jwksUrl } : {}) };
}

export function readCommonConfig(env: Env): CommonConfig {
  return {
    natsUrl: envUrl(env, 'NATS_URL', ['nats', 'tls', 'ws', 'wss']),
    mongoUrl: envUrl(env, 'MONGODB_URL', ['mongodb', 'mongodb+srv']),
    mongoDatabase: envString(env, 'MONGODB_DATABASE', 'happyride'),
    environment: envEnum(env, 'NODE_ENV', ['development', 'production', 'test'], 'development'),
    logLevel: envEnum(env, 'LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
    host: envString(env, 'HOST', '127.0.0.1'),
    auth: readAuthConfig(env),
  };
}
