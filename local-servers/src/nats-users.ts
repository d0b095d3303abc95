/**
 * The NATS users of a local run: the admin, whose password is a random secret made for each
 * start, and one user per service (`nats-permissions.ts`) whose password is derived from that
 * secret (HMAC-SHA256 of the user name). So the admin URL alone (what `startLocalServers`
 * returns, what tests and scripts get in `NATS_URL`) lets the launcher give each service its
 * own URL, while a service's password reveals neither the secret nor another service's.
 */
import { createHmac, randomBytes } from 'node:crypto';
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

/** `nats://local-admin:<secret>@127.0.0.1:<port>` */
export function localNatsAdminUrl(adminSecret: string, port: number): string {
  return `nats://${LOCAL_NATS_ADMIN}:${adminSecret}@127.0.0.1:${port}`;
}

/**
 * The URL `service` connects with, given the admin URL of local servers: the same server with
 * the service's own user. Undefined when the URL is not a local admin's (an external server:
 * services then share its URL) or the service has no user of its own.
 * @example localNatsServiceUrl('nats://local-admin:s3cret@127.0.0.1:4222', 'gateway') // 'nats://gateway:…@127.0.0.1:4222'
 */
export function localNatsServiceUrl(adminUrl: string, service: string): string | undefined {
  const url = URL.canParse(adminUrl) ? new URL(adminUrl) : undefined;
  if (url?.username !== LOCAL_NATS_ADMIN || !isNatsServiceUser(service)) return undefined;
  const secret = decodeURIComponent(url.password);
  url.username = service;
  url.password = servicePassword(secret, service);
  return url.toString().replace(/\/$/, '');
}
