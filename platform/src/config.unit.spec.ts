import { describe, expect, it } from 'vitest';
import { ConfigError, DEV_JWT_SECRET, envUrl, isLoopbackHost, readAuthConfig, readCommonConfig, readEventStreamReplicas, redactUrl } from './config.ts';

const SECRET = 'a-production-secret-0123456789-abcdefgh';
const servers = { NATS_URL: 'nats://127.0.0.1:4222', MONGODB_URL: 'mongodb://127.0.0.1:27017' };

function configError(read: () => unknown): string {
  try {
    read();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError, but the configuration was accepted');
}

describe('JWT_SECRET', () => {
  it('given a secret of 31 bytes, then start-up stops naming JWT_SECRET, without echoing it', () => {
    const short = 'x'.repeat(31);
    const message = configError(() => readAuthConfig({ JWT_SECRET: short }));
    expect(message).toMatch(/^JWT_SECRET must be at least 32 bytes \(it has 31\)/);
    expect(message).not.toContain(short);
  });

  it('given 32 bytes (counted in UTF-8), then it is accepted', () => {
    expect(readAuthConfig({ JWT_SECRET: 'é'.repeat(16) }).jwtSecret).toBe('é'.repeat(16));
    expect(() => readAuthConfig({ JWT_SECRET: 'é'.repeat(15) })).toThrow(/it has 30/);
  });

  it('given none, then the development default is used and flagged', () => {
    expect(readAuthConfig({})).toEqual({ jwtSecret: DEV_JWT_SECRET, usesDevSecret: true });
  });

  it.each([['0.0.0.0'], ['::'], ['10.0.0.5'], ['gateway']])('given the development secret and HOST=%s, then start-up stops naming JWT_SECRET', (host) => {
    const message = configError(() => readCommonConfig({ ...servers, HOST: host }));
    expect(message).toMatch(/^JWT_SECRET must be set when HOST is not loopback/);
    expect(message).not.toContain(DEV_JWT_SECRET);
    // The same secret, spelled out, is refused too.
    expect(() => readCommonConfig({ ...servers, HOST: host, JWT_SECRET: DEV_JWT_SECRET })).toThrow(ConfigError);
  });

  it.each([['127.0.0.1'], ['::1'], ['localhost'], ['[::1]']])('given the development secret and HOST=%s, then it is allowed (this machine only)', (host) => {
    expect(readCommonConfig({ ...servers, HOST: host }).auth.usesDevSecret).toBe(true);
  });

  it('given the development secret in production, even on loopback, then start-up stops', () => {
    expect(configError(() => readCommonConfig({ ...servers, NODE_ENV: 'production' }))).toMatch(/JWT_SECRET must be set in production/);
  });

  it('given a real secret beyond loopback, then it is accepted', () => {
    expect(readCommonConfig({ ...servers, HOST: '0.0.0.0', JWT_SECRET: SECRET }).auth).toEqual({ jwtSecret: SECRET, usesDevSecret: false });
  });
});

describe('JWT_JWKS_URL, JWT_ISSUER, JWT_AUDIENCE', () => {
  const issuerAndAudience = { JWT_ISSUER: 'https://id.example', JWT_AUDIENCE: 'happyride' };

  it('given an https key set with issuer and audience, then all three are kept', () => {
    expect(readAuthConfig({ JWT_JWKS_URL: 'https://id.example/jwks.json', ...issuerAndAudience })).toMatchObject({
      jwksUrl: 'https://id.example/jwks.json',
      issuer: 'https://id.example',
      audience: 'happyride',
    });
  });

  it('given a plain-http key set off loopback, then start-up stops naming JWT_JWKS_URL', () => {
    expect(configError(() => readAuthConfig({ JWT_JWKS_URL: 'http://id.example/jwks.json', ...issuerAndAudience }))).toMatch(/^JWT_JWKS_URL must use https/);
  });

  it.each([['http://127.0.0.1:8080/jwks'], ['http://localhost:8080/jwks'], ['http://[::1]:8080/jwks']])('given plain http on loopback (%s), then it is allowed', (url) => {
    expect(readAuthConfig({ JWT_JWKS_URL: url, ...issuerAndAudience }).jwksUrl).toBe(url);
  });

  it('given a key set without issuer or audience, then start-up stops naming both', () => {
    expect(configError(() => readAuthConfig({ JWT_JWKS_URL: 'https://id.example/jwks.json', JWT_ISSUER: 'x' }))).toMatch(/JWT_ISSUER and JWT_AUDIENCE are required with JWT_JWKS_URL/);
    expect(configError(() => readAuthConfig({ JWT_JWKS_URL: 'https://id.example/jwks.json', JWT_AUDIENCE: 'x' }))).toMatch(/JWT_ISSUER and JWT_AUDIENCE/);
  });

  it('given issuer and audience without a key set, then they apply to HS256 tokens', () => {
    expect(readAuthConfig({ ...issuerAndAudience, JWT_SECRET: SECRET })).toEqual({ jwtSecret: SECRET, usesDevSecret: false, ...{ issuer: 'https://id.example', audience: 'happyride' } });
  });
});

describe('URLs in configuration errors', () => {
  it.each([
    ['MONGODB_URL', 'mongodb://app:hunter2-pass@db:27017/x', ['mongodb+srv'], 'mongodb://***@db:27017/x'],
    ['MONGODB_URL', 'http://app:hunter2-pass@db:27017/', ['mongodb'], 'http://***@db:27017/'],
    ['NATS_URL', 'nats://app:hunter2-pass@nats:4222', ['tls'], 'nats://***@nats:4222'],
    ['MONGODB_URL', 'app:hunter2-pass@db', ['mongodb'], '***@db'],
    ['NATS_URL', 'nats://hunter2-pass@:bad port', ['nats'], 'nats://***@:bad port'],
  ])('given a malformed or wrong-scheme %s with credentials, then the error names it with the password masked', (name, value, protocols, shown) => {
    const message = configError(() => envUrl({ [name]: value }, name, protocols));
    expect(message).toMatch(new RegExp(`^${name} must`));
    expect(message).toContain(JSON.stringify(shown));
    expect(message).not.toContain('hunter2');
  });

  it('given a password with @ and / in it, then none of it shows', () => {
    expect(redactUrl('mongodb://u:p@ss/w@rd@db:27017')).toBe('mongodb://***@db:27017');
  });

  it('given a URL without credentials, then it is shown as is', () => {
    expect(redactUrl('nats://127.0.0.1:4222')).toBe('nats://127.0.0.1:4222');
  });
});

describe('NATS_URL as a cluster\'s list', () => {
  it('given three servers separated by commas, then the list is accepted as it is', () => {
    const list = 'nats://app:pw@127.0.0.1:4222,nats://app:pw@127.0.0.1:4223, nats://app:pw@127.0.0.1:4224';
    expect(readCommonConfig({ ...servers, NATS_URL: list }).natsUrl).toBe(list);
  });

  it('given a list with a bad entry, then the error names the entry with its password masked', () => {
    const message = configError(() => readCommonConfig({ ...servers, NATS_URL: 'nats://app:hunter2@127.0.0.1:4222,http://app:hunter2@127.0.0.1:4223' }));
    expect(message).toBe('NATS_URL (entry 2) must use nats or tls or ws or wss; got "http://***@127.0.0.1:4223".');
  });

  it('given an empty entry, then it is refused', () => {
    expect(configError(() => readCommonConfig({ ...servers, NATS_URL: 'nats://127.0.0.1:4222,,nats://127.0.0.1:4223' }))).toMatch(/^NATS_URL must be a URL or a comma-separated list/);
  });
});

describe('EVENT_STREAM_REPLICAS', () => {
  it('given none, then none (existing streams keep theirs); given 3, then 3', () => {
    expect(readEventStreamReplicas({})).toBeUndefined();
    expect(readEventStreamReplicas({ EVENT_STREAM_REPLICAS: '3' })).toBe(3);
  });

  it.each(['0', '6', '2.5', 'three'])('given %s, then start-up stops naming the variable and the range', (value) => {
    expect(configError(() => readEventStreamReplicas({ EVENT_STREAM_REPLICAS: value }))).toMatch(/^EVENT_STREAM_REPLICAS must be an integer from 1 to 5/);
  });
});

describe('isLoopbackHost', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['::1', true],
    ['[::1]', true],
    ['LOCALHOST', true],
    ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['128.0.0.1', false],
    ['localhost.evil.test', false],
  ])('%s → %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });
});
