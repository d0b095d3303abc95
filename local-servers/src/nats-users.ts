/**
 * The NATS users of a local run: the admin, whose password is a random secret made for each
 * start, and one user per service (`nats-permissions.ts`) whose password is derived from that
 * secret (HMAC-SHA256 of the user name). So the admin URL alone (what `startLocalServers`
 * returns, what tests and scripts get in `NATS_URL`) lets the launcher give each service its
 * own URL, while a service's password reveals neither the secret nor another service's.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { natsUrls } from '@happyride/eventstore/nats';
import { isNatsServiceUser, natsServicePermissions, natsServiceUsers, type NatsPermissions } from '@happyride/eventstore/nats-permissions';

/**
 * The admin user of servers started here. Its name marks a URL as ours: a `NATS_URL` with
 * another user (an external server) is given to every service as it is.
 */
export const LOCAL_NATS_ADMIN = 'local-admin';

export interface NatsUser {
  user: string;
  password: string;
  /** None: every right (the admin). */
  permissions?: NatsPermissions;
}

/** A fresh admin secret (URL-safe). */
export const newNatsAdminSecret = (): string => randomBytes(24).toString('base64url');

const servicePassword = (adminSecret: string, user: string): string => createHmac('sha256', adminSecret).update(`nats-user:${user}`).digest('base64url');

/** The admin and every service user, for nats-server's `authorization`. */
export function localNatsUsers(adminSecret: string): NatsUser[] {
  return [
    { user: LOCAL_NATS_ADMIN, password: adminSecret },
    ...natsServiceUsers.map((user) => ({ user, password: servicePassword(adminSecret, user), permissions: natsServicePermissions[user] })),
  ];
}

/** The user the nodes of a local cluster authenticate their routes with (no client may use it). */
export const localNatsRouteUser = (adminSecret: string): NatsUser => ({ user: 'local-route', password: servicePassword(adminSecret, 'local-route') });

/**
 * `nats://local-admin:<secret>@127.0.0.1:<port>`; for a cluster, one such URL per node,
 * comma-separated (what `connectNats` takes).
 */
export function localNatsAdminUrl(adminSecret: string, ports: number | readonly number[]): string {
  return (typeof ports === 'number' ? [ports] : ports).map((port) => `nats://${LOCAL_NATS_ADMIN}:${adminSecret}@127.0.0.1:${port}`).join(',');
}

/**
 * The URL `service` connects with, given the admin URL of local servers: the same server (every
 * server of a cluster's list) with the service's own user. Undefined when the URL is not a local
 * admin's (an external server: services then share its URL) or the service has no user of its own.
 * @example localNatsServiceUrl('nats://local-admin:s3cret@127.0.0.1:4222', 'gateway') // 'nats://gateway:…@127.0.0.1:4222'
 */
export function localNatsServiceUrl(adminUrl: string, service: string): string | undefined {
  if (!isNatsServiceUser(service)) return undefined;
  const entries = natsUrls(adminUrl);
  const urls = entries.flatMap((entry) => (URL.canParse(entry) ? [new URL(entry)] : []));
  if (urls.length === 0 || urls.length < entries.length || urls.some((url) => url.username !== LOCAL_NATS_ADMIN)) return undefined;
  return urls
    .map((url) => {
      const secret = decodeURIComponent(url.password);
      url.username = service;
      url.password = servicePassword(secret, service);
      return url.toString().replace(/\/$/, '');
    })
    .join(',');
}
