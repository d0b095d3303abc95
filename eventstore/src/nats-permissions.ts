/**
 * Who may publish and subscribe to what on NATS: one user per service, each with allow lists
 * built from the subjects this package defines. The one source of truth for the local servers'
 * generated config (`local-servers/src/nats-config.ts`) and for docker compose's
 * (`deploy/nats-server.conf`, written by `npm run nats:config`).
 *
 * The rules: only the write side appends events, each service to its own aggregates' subjects
 * (`events.<type>.*`); the query subgraphs have no NATS rights (they read MongoDB) but
 * trip-queries hears the trip notices (its page cache); the gateway may publish nothing and
 * only subscribe to the read-model notices. JetStream's API is
 * opened per stream (`EVENTS`, `KV_<bucket>`) and per operation each service uses. Replies come
 * back on the service's own inbox (`_INBOX_<user>.>`, see `natsInboxPrefix`): on a shared
 * `_INBOX.>` any service could read every other's replies (KV values, events, consumer
 * deliveries). The admin user (bootstrap, scripts, tests) has no limits.
 */
import type { AggregateType } from '@happyride/domain';
import { DRIVER_LOCATIONS_BUCKET } from './driver-locations.ts';
import { IDEMPOTENCY_FINGERPRINTS_BUCKET, IDEMPOTENCY_KEYS_BUCKET } from './idempotency-keys.ts';
import { LEASES_BUCKET } from './lease.ts';
import { tripUpdatedSubject } from './live-updates.ts';
import { dispatchOfferSubject } from './offer-notices.ts';
import { natsInboxPrefix } from './nats-inbox.ts';
import { aggregateTypeSubject, EVENTS_STREAM } from './streams.ts';
import { TRIP_SLOTS_BUCKET } from './trip-slots.ts';

/** Allow lists; an empty list allows nothing. */
export interface NatsPermissions {
  publish: readonly string[];
  subscribe: readonly string[];
}

/** The user with every right: bootstrap, `npm run projections:rebuild`, the other scripts, tests. */
export const NATS_ADMIN_USER = 'admin';

const API = '$JS.API';
/** Where the replies to `user` come: its own inbox prefix. */
const inboxOf = (user: string) => `${natsInboxPrefix(user)}.>`;
/** `jetstreamManager()` asks for the account info on connect. */
const ACCOUNT_INFO = `${API}.INFO`;
/** The readiness probe of a writer: the event stream's info, answered by its leader (`streamHasLeader`). */
const EVENTS_INFO = `${API}.STREAM.INFO.${EVENTS_STREAM}`;

/** Reading aggregates: direct gets of the event stream (a batch by subject, the last of a subject). */
const readEvents = [`${API}.DIRECT.GET.${EVENTS_STREAM}`, `${API}.DIRECT.GET.${EVENTS_STREAM}.>`];

/** Appending commits of these aggregate types (`events.<type>.*`). */
const appendEvents = (...types: AggregateType[]) => types.map(aggregateTypeSubject);

/** Reading the event stream through consumers: durable ones (acknowledged) and ordered ones (made, read, deleted). */
const consumeEvents = [
  EVENTS_INFO,
  `${API}.CONSUMER.INFO.${EVENTS_STREAM}.>`,
  // An ordered consumer is created without its name in the subject, a durable one with it, or
  // (several filter subjects) through the durable API.
  `${API}.CONSUMER.CREATE.${EVENTS_STREAM}`,
  `${API}.CONSUMER.CREATE.${EVENTS_STREAM}.>`,
  `${API}.CONSUMER.DURABLE.CREATE.${EVENTS_STREAM}.>`,
  `${API}.CONSUMER.DELETE.${EVENTS_STREAM}.>`,
  `${API}.CONSUMER.MSG.NEXT.${EVENTS_STREAM}.>`,
  `$JS.ACK.${EVENTS_STREAM}.>`,
];

/** Opening a KV bucket, reading (a direct get, or a stream message get when the bucket has no direct gets) and writing its keys. */
const useBucket = (bucket: string) => [
  `${API}.STREAM.INFO.KV_${bucket}`,
  `${API}.DIRECT.GET.KV_${bucket}.>`,
  `${API}.STREAM.MSG.GET.KV_${bucket}`,
  `$KV.${bucket}.>`,
];

/** Reading a KV bucket's keys only (no `$KV.<bucket>.>`: no writes). */
const readBucket = (bucket: string) => useBucket(bucket).filter((subject) => !subject.startsWith('$KV.'));
/** Reading a KV bucket's history and watching it (an ordered consumer of the bucket's stream). */
const watchBucket = (bucket: string) => [
  `${API}.CONSUMER.CREATE.KV_${bucket}`,
  `${API}.CONSUMER.CREATE.KV_${bucket}.>`,
  `${API}.CONSUMER.DELETE.KV_${bucket}.>`,
  `${API}.CONSUMER.INFO.KV_${bucket}.>`,
  `${API}.CONSUMER.MSG.NEXT.KV_${bucket}.>`,
  `$JS.FC.KV_${bucket}.>`,
];

/** A notice subject for every id (`updates.trip.*`, `updates.offers.*`). */
const tripNotices = tripUpdatedSubject('*');
const offerNotices = dispatchOfferSubject('*');

const writeSubgraph = (user: string, aggregate: AggregateType, ...buckets: string[]): NatsPermissions => ({
  publish: [ACCOUNT_INFO, EVENTS_INFO, ...appendEvents(aggregate), ...readEvents, ...useBucket(IDEMPOTENCY_KEYS_BUCKET), ...useBucket(IDEMPOTENCY_FINGERPRINTS_BUCKET), ...buckets.flatMap(useBucket)],
  subscribe: [inboxOf(user)],
});

const tripCommands = writeSubgraph('trip-commands', 'trip', TRIP_SLOTS_BUCKET);
const querySubgraph: NatsPermissions = { publish: [], subscribe: [] };
/** Core NATS only: trip-queries hears the trip notices, to drop the pages it holds (a flush is a PING, not a publish). */
const tripQueries: NatsPermissions = { publish: [], subscribe: [tripNotices] };

/** Every service `npm start` and docker compose run, by its name there. */
export const natsServicePermissions = {
  'passenger-commands': writeSubgraph('passenger-commands', 'passenger'),
  'driver-commands': writeSubgraph('driver-commands', 'driver', DRIVER_LOCATIONS_BUCKET),
  // Reads passengers (direct gets) but appends trips only; reads (never writes) drivers' last locations, to check an acceptance's position.
  'trip-commands': { ...tripCommands, publish: [...tripCommands.publish, ...readBucket(DRIVER_LOCATIONS_BUCKET)] },
  'profile-queries': querySubgraph,
  'trip-queries': tripQueries,
  projector: {
    publish: [ACCOUNT_INFO, ...consumeEvents, `${API}.CONSUMER.LIST.${EVENTS_STREAM}`, ...useBucket(LEASES_BUCKET), tripNotices],
    subscribe: [inboxOf('projector')],
  },
  'saga-worker': {
    publish: [
      ACCOUNT_INFO,
      // Sagas and dispatch append to trips, payments and drivers (reservations).
      ...appendEvents('trip', 'payment', 'driver'),
      ...readEvents,
      ...consumeEvents,
      ...useBucket(DRIVER_LOCATIONS_BUCKET),
      ...watchBucket(DRIVER_LOCATIONS_BUCKET),
      offerNotices,
    ],
    subscribe: [inboxOf('saga-worker')],
  },
  // Core NATS only: it hears the notices; its readiness is a flush (a PING, not a publish).
  gateway: { publish: [], subscribe: [tripNotices, offerNotices] },
} as const satisfies Record<string, NatsPermissions>;

export type NatsServiceUser = keyof typeof natsServicePermissions;

export const natsServiceUsers = Object.keys(natsServicePermissions) as NatsServiceUser[];

export const isNatsServiceUser = (name: string): name is NatsServiceUser => Object.hasOwn(natsServicePermissions, name);

/** nats-server's `permissions` block for one user: allow lists, and `deny: [">"]` for an empty one. */
export function natsServerPermissions({ publish, subscribe }: NatsPermissions) {
  const side = (subjects: readonly string[]) => (subjects.length === 0 ? { deny: ['>'] } : { allow: [...subjects] });
  return { publish: side(publish), subscribe: side(subscribe) };
}
