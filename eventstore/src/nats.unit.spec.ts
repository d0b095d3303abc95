import { describe, expect, it } from 'vitest';
import { isUnavailable, JetStreamApiError, natsServerOptions } from './nats.ts';

describe('NATS connection options from a URL', () => {
  it('given a URL with user and password, when read, then they become the credentials and leave the server URL', () => {
    expect(natsServerOptions('nats://gateway:s%40cret@nats:4222')).toEqual({ servers: ['nats://nats:4222'], user: 'gateway', pass: 's@cret' });
  });

  it('given a URL without credentials, when read, then it is the server as it is', () => {
    expect(natsServerOptions('nats://127.0.0.1:4222')).toEqual({ servers: ['nats://127.0.0.1:4222'] });
  });

  it('given a cluster\'s comma-separated list, when read, then every server is listed without credentials and the user is the list\'s', () => {
    expect(natsServerOptions('nats://admin:pw@127.0.0.1:4222, nats://admin:pw@127.0.0.1:4223,nats://admin:pw@127.0.0.1:4224')).toEqual({
      servers: ['nats://127.0.0.1:4222', 'nats://127.0.0.1:4223', 'nats://127.0.0.1:4224'],
      user: 'admin',
      pass: 'pw',
    });
  });

  it('given JetStream answering 503 while a cluster elects a leader, then it is unavailable (retryable); a refused append is not', () => {
    const electing = new JetStreamApiError({ code: 503, err_code: 10008, description: 'JetStream system temporarily unavailable' });
    const refused = new JetStreamApiError({ code: 400, err_code: 10071, description: 'wrong last sequence: 3' });
    expect(isUnavailable(electing)).toBe(true);
    expect(isUnavailable(new Error('append failed', { cause: electing }))).toBe(true);
    expect(isUnavailable(refused)).toBe(false);
  });
});
