import { forbidden, notFound, type Actor } from '@happyride/domain';
import { DateTimeScalar, requireActor, type QueryContext } from '@happyride/platform';

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

/** Whether the two people share a trip (the trip history read model knows). */
async function shareATrip({ db, readModels }: ProfileQueriesContext, passengerId: string, driverId: string): Promise<boolean> {
  return (await db.collection(await readModels.collection('trips')).countDocuments({ passengerId, driverId }, { limit: 1 })) > 0;
}

/**
 * Who may see whose profile: everyone their own, admins all, and the two people of a trip
 * each other's (a passenger sees who drives them, a driver whom they drive).
 */
async function mayRead(ctx: ProfileQueriesContext, actor: Actor, kind: 'passenger' | 'driver', id: string): Promise<boolean> {
  if (actor.role === 'admin' || (actor.role === kind && actor.id === id)) return true;
  if (kind === 'passenger' && actor.role === 'driver') return shareATrip(ctx, id, actor.id);
  if (kind === 'driver' && actor.role === 'passenger') return shareATrip(ctx, actor.id, id);
  return false;
}

async function profile<D extends ProfileDoc>(ctx: ProfileQueriesContext, kind: 'passenger' | 'driver', id: string) {
  const actor = requireActor(ctx.actor);
  if (!(await mayRead(ctx, actor, kind, id))) {
    throw forbidden(`A ${kind} profile is visible to that ${kind}, to the other party of their trips and to admins.`);
  }
  const doc = await ctx.db.collection<D>(await ctx.readModels.collection(kind === 'passenger' ? 'passengers' : 'drivers')).findOne({ _id: id } as never);
  if (!doc) throw notFound(`${kind === 'passenger' ? 'Passenger' : 'Driver'} ${id} is not registered (or not projected yet).`);
  return withId(doc as D);
}

export const resolvers = {
  DateTime: DateTimeScalar,
  Query: {
    passenger: (_: unknown, { id }: { id: string }, ctx: ProfileQueriesContext) => profile<PassengerDoc>(ctx, 'passenger', id),
    driver: (_: unknown, { id }: { id: string }, ctx: ProfileQueriesContext) => profile<DriverDoc>(ctx, 'driver', id),
  },
  // Entities are reached only through a parent the caller may already see (e.g. a trip).
  Passenger: {
    __resolveReference: async ({ id }: { id: string }, ctx: ProfileQueriesContext) => {
      const doc = await ctx.db.collection<PassengerDoc>(await ctx.readModels.collection('passengers')).findOne({ _id: id });
      return doc ? withId(doc) : null;
    },
  },
  Driver: {
    __resolveReference: async ({ id }: { id: string }, ctx: ProfileQueriesContext) => {
      const doc = await ctx.db.collection<DriverDoc>(await ctx.readModels.collection('drivers')).findOne({ _id: id });
      return doc ? withId(doc) : null;
    },
  },
};
