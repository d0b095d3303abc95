import { inboxPrefixFor, natsInboxPrefix, usersWithOwnInbox } from '@happyride/eventstore/nats-inbox';
import { natsServerPermissions, natsServicePermissions, natsServiceUsers } from '@happyride/eventstore/nats-permissions';
import { describe, expect, it } from 'vitest';
import { allServices } from '../../scripts/system.ts';
import { natsConfig } from './nats-config.ts';
import { natsClusterSize } from './nats-nodes.ts';
import { localNatsAdminUrl, localNatsRouteUser, localNatsServiceUrl, localNatsUsers } from './nats-users.ts';

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

  it('given a cluster\'s admin URL list, when a service URL is derived, then every server of the list gets the service\'s user', () => {
    const clusterUrl = localNatsAdminUrl(secret, [4222, 4223, 4224]);
    const urls = (localNatsServiceUrl(clusterUrl, 'gateway') ?? '').split(',').map((url) => new URL(url));
    expect(urls.map((url) => url.host)).toEqual(['127.0.0.1:4222', '127.0.0.1:4223', '127.0.0.1:4224']);
    expect(new Set(urls.map((url) => `${url.username}:${url.password}`))).toEqual(new Set([`gateway:${new URL(localNatsServiceUrl(adminUrl, 'gateway') ?? '').password}`]));
  });

  it.each([
    ['a list mixing a local admin and another user', `${adminUrl},nats://happyride:pw@nats.example:4222`, 'gateway'],
    ['an external URL without credentials', 'nats://nats.example:4222', 'gateway'],
    ['an external URL with another user', 'nats://happyride:pw@nats.example:4222', 'gateway'],
    ['a service without a user', adminUrl, 'bootstrap'],
  ])('given %s, then no service URL is derived (the service gets NATS_URL as it is)', (_label, url, service) => {
    expect(localNatsServiceUrl(url, service)).toBeUndefined();
  });
});

describe('the size of a local cluster (NATS_CLUSTER)', () => {
  it.each([[undefined, 1], ['', 1], ['1', 1], ['3', 3], [' 5 ', 5], [4, 4]])('given %j, then %i nats-server(s)', (value, size) => {
    expect(natsClusterSize(value, 'NATS_CLUSTER')).toBe(size);
  });

  it.each(['2', '6', '0', 'three', '3.5'])('given %j, then start-up stops naming NATS_CLUSTER and what it may be', (value) => {
    expect(() => natsClusterSize(value, 'NATS_CLUSTER')).toThrow(`NATS_CLUSTER must be 1 (one nats-server) or 3 to 5 (a JetStream cluster; 2 could not elect a leader once one is down); got ${JSON.stringify(value)}.`);
  });
});

describe('the configuration of a cluster node', () => {
  it('given node 2 of 3, then it has its own server name, listens for routes on its port and dials the other two with the route user', () => {
    const routeUser = localNatsRouteUser(secret);
    const config = natsConfig({
      storeDir: '/tmp/x/node-2',
      port: 4223,
      syncInterval: 'always',
      users: localNatsUsers(secret),
      cluster: { name: 'happyride-local', serverName: 'happyride-local-2', routePort: 6223, routePorts: [6222, 6223, 6224], routeUser },
    });
    expect(config.server_name).toBe('happyride-local-2');
    expect(config.cluster).toEqual({
      name: 'happyride-local',
      listen: '127.0.0.1:6223',
      authorization: { user: 'local-route', password: routeUser.password },
      routes: [`nats-route://local-route:${routeUser.password}@127.0.0.1:6222`, `nats-route://local-route:${routeUser.password}@127.0.0.1:6224`],
    });
    expect(config.authorization.users.map((u) => u.user)).not.toContain('local-route');
  });

  it('given a server alone, then it has no cluster block', () => {
    expect(natsConfig({ storeDir: '/tmp/x', port: 4222, syncInterval: 'always', users: [] })).not.toHaveProperty('cluster');
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

  it('given trip-commands, then it may read drivers\' last locations (to check an acceptance) but never write one', () => {
    const publish: readonly string[] = natsServicePermissions['trip-commands'].publish;
    expect(publish).toContain('$JS.API.DIRECT.GET.KV_driver-locations.>');
    expect(publish.filter((subject) => subject.startsWith('$KV.driver-locations'))).toEqual([]);
    expect(natsServicePermissions['driver-commands'].publish).toContain('$KV.driver-locations.>');
  });

  it('given every service, then it may subscribe to its own inbox only, never to `_INBOX.>` or another service\'s', () => {
    for (const service of natsServiceUsers) {
      const inboxes = natsServicePermissions[service].subscribe.filter((subject) => subject.startsWith('_INBOX'));
      expect(inboxes).toEqual(usersWithOwnInbox.has(service) ? [`${natsInboxPrefix(service)}.>`] : []);
      expect(inboxPrefixFor(service)).toBe(usersWithOwnInbox.has(service) ? `_INBOX_${service}` : undefined);
    }
    expect([...usersWithOwnInbox].every((user) => natsServiceUsers.includes(user as (typeof natsServiceUsers)[number]))).toBe(true);
    expect(inboxPrefixFor('local-admin')).toBeUndefined();
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
