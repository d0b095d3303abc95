import { natsServerPermissions, natsServicePermissions, natsServiceUsers } from '@happyride/eventstore/nats-permissions';
import { describe, expect, it } from 'vitest';
import { allServices } from '../../scripts/system.ts';
import { natsConfig } from './nats-config.ts';
import { localNatsAdminUrl, localNatsServiceUrl, localNatsUsers } from './nats-users.ts';

const secret = 'a-secret_made-for-this-run';
const adminUrl = localNatsAdminUrl(secret, 4222);

describe('the NATS users of a local run', () => {
  it('given every service the launcher starts, then it has a NATS user of its own', () => {
    expect([...natsServiceUsers].sort()).toEqual(allServices.map((service) => service.name).sort());
  });

  it('given the admin URL, when a service URL is derived, then it names the service and a password of its own, not the secret', () => {
    const urls = natsServiceUsers.map((service) => localNatsServiceUrl(adminUrl, service) ?? '');
    for (const [i, url] of urls.entries()) {
      const parsed = new URL(url);
      expect(parsed.username).toBe(natsServiceUsers[i]);
      expect(parsed.host).toBe('127.0.0.1:4222');
      expect(parsed.password).not.toContain(secret);
    }
    expect(new Set(urls.map((url) => new URL(url).password)).size).toBe(urls.length);
  });

  it('given the same secret, then the derived passwords are those of the generated users', () => {
    const users = localNatsUsers(secret);
    for (const service of natsServiceUsers) {
      expect(new URL(localNatsServiceUrl(adminUrl, service) ?? '').password).toBe(users.find((u) => u.user === service)?.password);
    }
  });

  it.each([
    ['an external URL without credentials', 'nats://nats.example:4222', 'gateway'],
    ['an external URL with another user', 'nats://happyride:pw@nats.example:4222', 'gateway'],
    ['a service without a user', adminUrl, 'bootstrap'],
  ])('given %s, then no service URL is derived (the service gets NATS_URL as it is)', (_label, url, service) => {
    expect(localNatsServiceUrl(url, service)).toBeUndefined();
  });
});

describe('the permission lists', () => {
  it('given the query subgraphs and the gateway, then none may publish to events', () => {
    for (const service of ['profile-queries', 'trip-queries', 'gateway', 'projector'] as const) {
      expect(natsServicePermissions[service].publish.filter((subject) => subject.startsWith('events.') || subject === '>')).toEqual([]);
    }
  });

  it('given the gateway, then it publishes nothing and only subscribes to notices', () => {
    expect(natsServicePermissions.gateway).toEqual({ publish: [], subscribe: ['updates.trip.*', 'updates.offers.*'] });
  });

  it('given the write subgraphs, then each appends to its own aggregate only', () => {
    expect(natsServicePermissions['passenger-commands'].publish.filter((s) => s.startsWith('events.'))).toEqual(['events.passenger.*']);
    expect(natsServicePermissions['driver-commands'].publish.filter((s) => s.startsWith('events.'))).toEqual(['events.driver.*']);
    expect(natsServicePermissions['trip-commands'].publish.filter((s) => s.startsWith('events.'))).toEqual(['events.trip.*']);
  });

  it('given an empty list, then nats-server gets an explicit deny-all', () => {
    expect(natsServerPermissions({ publish: [], subscribe: ['a.>'] })).toEqual({ publish: { deny: ['>'] }, subscribe: { allow: ['a.>'] } });
  });

  it('given the local config, then the admin has no limits and every service user has its permissions', () => {
    const config = natsConfig({ storeDir: '/tmp/x', port: 4222, syncInterval: 'always', users: localNatsUsers(secret) });
    const [adminUser, ...services] = config.authorization.users;
    expect(adminUser).toEqual({ user: 'local-admin', password: secret });
    expect(services.map((u) => u.user)).toEqual(natsServiceUsers);
    for (const user of services) expect(user.permissions).toBeDefined();
    expect(config.jetstream.sync_interval).toBe('always');
  });
});
