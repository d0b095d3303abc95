import { forbidden, notFound, type Actor } from '@happyride/domain';
import { DateTimeScalar, requireActor, type QueryContext } from '@happyride/platform';
import { deadLetters } from './dead-letters.ts';
import type { QueryDriverArgs, QueryPassengerArgs, Resolvers } from './generated/resolvers-types.ts';

type ProfileQueriesContext = QueryContext;

interface ProfileDoc {
  _id: string;
  version: number;
  registeredAt: string;
  updatedAt: string;
}
interface PassengerDoc extends ProfileDoc {
  name: string;
  banned: boolean;
}
interface DriverDoc extends ProfileDoc {
  name: string;
  vehicle: { plate: string; model: string };
  online: boolean;
}

const withId = <D extends { _id: string }>({ _id, ...rest }: D) => ({ id: _id, ...rest });

/** Whether the driver is (or was) assigned to a trip of the passenger (the trip history read model knows). */
async function shareATrip({ db, readModels }: ProfileQueriesContext, passengerId: string, driverId: string): Promise<boolean> {
  return (await db.collection(await readModels.collection('trips')).countDocuments({ passengerId, driverId }, { limit: 1 })) > 0;
}

/** A driver's offers of one passenger's trips (`dispatch_offers`, written by dispatch). */
interface OfferDoc {
  status: string;
  expiresAt: string;
}

/**
 * Whether an offer of one of the passenger's trips is OPEN for the driver now, or went to
 * them (ASSIGNED, before the trip history shows it). An offer that expired, was taken by
 * another driver or cancelled gives nothing.
 */
export function offerLetsDriverSee(offers: readonly OfferDoc[], now: Date): boolean {
  return offers.some((offer) => offer.status === 'ASSIGNED' || (offer.status === 'OPEN' && offer.expiresAt > now.toISOString()));
}

async function holdsAnOffer({ db }: ProfileQueriesContext, passengerId: string, driverId: string): Promise<boolean> {
  const offers = await db.collection<OfferDoc & { driverId: string; passengerId: string }>('dispatch_offers')
    .find({ driverId, passengerId }, { projection: { _id: 0, status: 1, expiresAt: 1 } })
    .limit(100)
    .toArray();
  return offerLetsDriverSee(offers, new Date());
}

/**
 * Who may see whose profile: everyone their own, admins all; a passenger the drivers
 * assigned to their trips; a driver the passengers of their assigned trips and of the
 * offers OPEN to them now (never merely because a trip was once offered). One rule for the
 * root fields and for `_entities`.
 */
async function mayRead(ctx: ProfileQueriesContext, actor: Actor, kind: 'passenger' | 'driver', id: string): Promise<boolean> {
  if (actor.role === 'admin' || (actor.role === kind && actor.id === id)) return true;
  if (kind === 'passenger' && actor.role === 'driver') return (await shareATrip(ctx, id, actor.id)) || holdsAnOffer(ctx, id, actor.id);
  if (kind === 'driver' && actor.role === 'passenger') return shareATrip(ctx, actor.id, id);
  return false;
}

/**
 * `_entities` may be posted straight to this subgraph, and the gateway resolves them for
 * `trip { passenger { … } }` and offers: the caller needs a token, and a profile they may not
 * see is null, exactly as an unknown one is.
 */
async function entity<D extends ProfileDoc>(ctx: ProfileQueriesContext, kind: 'passenger' | 'driver', id: string) {
  const actor = requireActor(ctx.actor);
  if (!(await mayRead(ctx, actor, kind, id))) return null;
  const doc = await ctx.db.collection<ProfileDoc>(await ctx.readModels.collection(kind === 'passenger' ? 'passengers' : 'drivers')).findOne<D>({ _id: id });
  return doc ? withId(doc) : null;
}

async function profile<D extends ProfileDoc>(ctx: ProfileQueriesContext, kind: 'passenger' | 'driver', id: string) {
  const actor = requireActor(ctx.actor);
  if (!(await mayRead(ctx, actor, kind, id))) {
    throw forbidden(`A ${kind} profile is visible to that ${kind}, to the other party of their trips and to admins.`);
  }
  const doc = await ctx.db.collection<ProfileDoc>(await ctx.readModels.collection(kind === 'passenger' ? 'passengers' : 'drivers')).findOne<D>({ _id: id });
  if (!doc) throw notFound(`${kind === 'passenger' ? 'Passenger' : 'Driver'} ${id} is not registered (or not projected yet).`);
  return withId(doc);
}

export const resolvers = {
  DateTime: DateTimeScalar,
  Query: {
    passenger: (_: unknown, { id }: QueryPassengerArgs, ctx: ProfileQueriesContext) => profile<PassengerDoc>(ctx, 'passenger', id),
    driver: (_: unknown, { id }: QueryDriverArgs, ctx: ProfileQueriesContext) => profile<DriverDoc>(ctx, 'driver', id),
    deadLetters,
  },
  Passenger: {
    __resolveReference: ({ id }: { id: string }, ctx: ProfileQueriesContext) => entity<PassengerDoc>(ctx, 'passenger', id),
  },
  Driver: {
    __resolveReference: ({ id }: { id: string }, ctx: ProfileQueriesContext) => entity<DriverDoc>(ctx, 'driver', id),
  },
} satisfies Resolvers;
