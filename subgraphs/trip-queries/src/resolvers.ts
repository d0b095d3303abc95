import { forbidden, tripStatuses } from '@happyride/domain';
import { DateTimeScalar, DISPATCH_OFFERS_CAP, requireActor, type QueryContext } from '@happyride/platform';
import type { TripHistoryDocument as TripDoc } from '@happyride/projections/trips/trip-history';
import type { DispatchOfferDocument } from '@happyride/sagas/dispatch/dispatch-offers';
import type { Db, Filter } from 'mongodb';
import { mayReadTrip, myTripsFilter, scopeTripFilter, visibleTrip, type TripFilter } from './access.ts';
import type {
  QueryDispatchOfferArgs,
  QueryMyDispatchOffersArgs,
  QueryMyTripsArgs,
  QueryTripArgs,
  QueryTripsArgs,
  Resolvers,
} from './generated/resolvers-types.ts';
import { afterCursor, decodeCursor, encodeCursor, ORDERED_KEYS_COMMENT, pageSize } from './pagination.ts';
import { toTrip } from './trip-node.ts';

type TripQueriesContext = QueryContext;

interface TripStatsDoc {
  _id: string;
  total: number;
  byState: Record<string, number>;
}

const trips = async ({ db, readModels }: TripQueriesContext) => db.collection<TripDoc>(await readModels.collection('trips'));

const offers = (db: Db) => db.collection<DispatchOfferDocument>('dispatch_offers');

function requireDriver(ctx: TripQueriesContext): string {
  const actor = requireActor(ctx.actor);
  if (actor.role !== 'driver') throw forbidden('Dispatch offers are for drivers: sign in with the driver role.');
  return actor.id;
}

/**
 * A page of trips, newest first. Pages are held in `readCache` until the next trip notice: the
 * key is everything the answer depends on (the collection served, the filter, which already
 * holds the caller's scope, the cursor and the size), so callers with the same rights share it.
 */
async function page(ctx: TripQueriesContext, filter: TripFilter | null, first: number | null | undefined, after: string | null | undefined) {
  const size = pageSize(first);
  const cursor = after ? decodeCursor(after) : null;
  if (!filter) return { edges: [], pageInfo: { hasNextPage: false, endCursor: null } };
  const collection = await trips(ctx);
  const query: Filter<TripDoc> = { ...filter, ...(cursor ? afterCursor(cursor) : {}) };
  return ctx.readCache.read(`trips\u0000${collection.collectionName}\u0000${size}\u0000${JSON.stringify(query)}`, async () => {
    const docs = await collection.find(query, { comment: ORDERED_KEYS_COMMENT }).sort({ createdAt: -1, _id: -1 }).limit(size + 1).toArray();
    const edges = docs.slice(0, size).map((doc) => ({ cursor: encodeCursor({ createdAt: doc.createdAt, id: doc._id }), node: toTrip(doc) }));
    return { edges, pageInfo: { hasNextPage: docs.length > size, endCursor: edges.at(-1)?.cursor ?? null } };
  });
}

/** The filter the caller asked for: only the arguments they gave. */
const requestedFilter = ({ passengerId, driverId, state }: QueryTripsArgs): TripFilter => ({
  ...(passengerId != null ? { passengerId } : {}),
  ...(driverId != null ? { driverId } : {}),
  ...(state != null ? { state } : {}),
});

export const resolvers = {
  DateTime: DateTimeScalar,
  Query: {
    trip: async (_: unknown, { id }: QueryTripArgs, ctx: TripQueriesContext) => {
      const actor = requireActor(ctx.actor);
      return toTrip(visibleTrip(actor, id, await (await trips(ctx)).findOne({ _id: id })));
    },
    myTrips: (_: unknown, args: QueryMyTripsArgs, ctx: TripQueriesContext) =>
      page(ctx, myTripsFilter(requireActor(ctx.actor), args.state ?? undefined), args.first, args.after),
    trips: (_: unknown, args: QueryTripsArgs, ctx: TripQueriesContext) => {
      const filter = scopeTripFilter(requireActor(ctx.actor), requestedFilter(args));
      return page(ctx, filter, args.first, args.after);
    },
    myDispatchOffers: async (_: unknown, { status }: QueryMyDispatchOffersArgs, ctx: TripQueriesContext) => {
      const driverId = requireDriver(ctx);
      // Filtered, sorted and limited in FerretDB's SQLite from the index on (driverId, status): ids, statuses and ISO times keep the ordered-keys promise.
      return offers(ctx.db)
        .find({ driverId, status: status ?? 'OPEN' }, { comment: ORDERED_KEYS_COMMENT })
        .sort({ updatedAt: -1, _id: -1 })
        .limit(DISPATCH_OFFERS_CAP.max)
        .toArray();
    },
    dispatchOffer: (_: unknown, { tripId }: QueryDispatchOfferArgs, ctx: TripQueriesContext) =>
      offers(ctx.db).findOne({ _id: `${tripId}:${requireDriver(ctx)}` }),
    tripStats: async (_: unknown, __: unknown, ctx: TripQueriesContext) => {
      if (requireActor(ctx.actor).role !== 'admin') throw forbidden('Trip statistics are for admins.');
      // One document per projector partition (`all` when there is one): they add up.
      const parts = await ctx.db.collection<TripStatsDoc>(await ctx.readModels.collection('trip_stats')).find({}).toArray();
      return {
        total: parts.reduce((sum, part) => sum + part.total, 0),
        byState: tripStatuses.map((state) => ({ state, count: parts.reduce((sum, part) => sum + (part.byState[state] ?? 0), 0) })),
      };
    },
  },
  Trip: {
    // `_entities` may be posted straight to this subgraph: the same rule as `trip(id)`, and a
    // trip the caller may not see is null, as an unknown one is.
    __resolveReference: async ({ id }: { id: string }, ctx: TripQueriesContext) => {
      const actor = requireActor(ctx.actor);
      const doc = await (await trips(ctx)).findOne({ _id: id });
      return doc && mayReadTrip(actor, doc) ? toTrip(doc) : null;
    },
    passenger: (trip: { passengerId: string }) => ({ id: trip.passengerId }),
    driver: (trip: { driverId: string | null }) => (trip.driverId ? { id: trip.driverId } : null),
  },
  DispatchOffer: {
    passenger: (offer: { passengerId: string }) => ({ id: offer.passengerId }),
  },
} satisfies Resolvers;
