import { describe, expect, it } from 'vitest';
import { natsServerOptions } from './nats.ts';

describe('NATS connection options from a URL', () => {
  it('given a URL with user and password, when read, then they become the credentials and leave the server URL', () => {
    expect(natsServerOptions('nats://gateway:s%40cret@nats:4222')).toEqual({ servers: 'nats://nats:4222', user: 'gateway', pass: 's@cret' });
  });

  it('given a URL without credentials, when read, then it is the server as it is', () => {
    expect(natsServerOptions('nats://127.0.0.1:4222')).toEqual({ servers: 'nats://127.0.0.1:4222' });
  });
});
