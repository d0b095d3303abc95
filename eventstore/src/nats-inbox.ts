/**
 * Each NATS user gets replies on an inbox of its own, `_INBOX_<user>`: its permissions allow it
 * to subscribe there and nowhere else (`nats-permissions.ts`), so no service can listen to
 * another's replies. The admin (no permissions) and users of an external server this project
 * does not configure keep the client's default `_INBOX`.
 */

/** The inbox prefix of a service's user. */
export const natsInboxPrefix = (user: string): string => `_INBOX_${user}`;

/**
 * The users that get replies at all: the services whose permissions allow their own inbox (a
 * unit test holds this list and `natsServicePermissions` together).
 */
export const usersWithOwnInbox: ReadonlySet<string> = new Set(['passenger-commands', 'driver-commands', 'trip-commands', 'projector', 'saga-worker']);

/** The `inboxPrefix` a connection made as `user` must use; undefined for the client's default. */
export const inboxPrefixFor = (user: string | undefined): string | undefined =>
  user !== undefined && usersWithOwnInbox.has(user) ? natsInboxPrefix(user) : undefined;
