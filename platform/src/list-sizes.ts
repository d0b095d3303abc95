import { tripStatuses } from '@happyride/domain';

/**
 * How many items each list field of the graph can return: the one source of the page sizes and
 * caps. The subgraphs serve at most this many (trip-queries' pages and offers, profile-queries'
 * dead letters), and the gateway's cost model prices each list field by it
 * (gateway/src/plugins/operation-limits.ts). A test checks every list field of the supergraph
 * and of the gateway's subscriptions is here.
 */
export type ListSize =
  /** The value of its `first` argument, `min` to `max`; `default` when it is not given. */
  | { by: 'first'; min: number; default: number; max: number }
  /** At most `max` items, whatever the arguments. */
  | { by: 'cap'; max: number }
  /** The items of the parent's page (`edges` of a connection): the parent's `first` counts them. */
  | { by: 'parent' }
  /** Scalars held in one document already read: no resolver, read or fetch per item; priced as one field. */
  | { by: 'scalars' };

/** Pages of trips (`myTrips`, `trips`). */
export const TRIP_PAGE = { by: 'first', min: 1, default: 20, max: 100 } as const satisfies ListSize;

/** Pages of dead letters (`deadLetters`, admins). */
export const DEAD_LETTER_PAGE = { by: 'first', min: 1, default: 50, max: 100 } as const satisfies ListSize;

/** A driver's offers of one status, newest first (`myDispatchOffers`). */
export const DISPATCH_OFFERS_CAP = { by: 'cap', max: 100 } as const satisfies ListSize;

/** Every list field of the graph, by its coordinate (`Type.field`). */
export const listSizes: Readonly<Record<string, ListSize>> = {
  'Query.myTrips': TRIP_PAGE,
  'Query.trips': TRIP_PAGE,
  'Query.deadLetters': DEAD_LETTER_PAGE,
  'Query.myDispatchOffers': DISPATCH_OFFERS_CAP,
  'TripConnection.edges': { by: 'parent' },
  'TripStats.byState': { by: 'cap', max: tripStatuses.length },
  'DeadLetter.eventTypes': { by: 'scalars' },
};
