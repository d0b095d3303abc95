import { forbidden, notFound, type Actor } from '@happyride/domain';
import { DateTimeScalar, requireActor } from '@happyride/platform';
import type { Db } from 'mongodb';

export interface QueriesContext {
  actor: Actor | null;
  db: Db;
}

interface PassengerDoc {
  _id: string;
  name: string;
  banned: boolean;
  registeredAt: string;
  updatedAt: string;
  version: number;
}

const passengers = (db: Db) => db.collection<PassengerDoc>('passengers');
const toPassenger = ({ _id, ...rest }: PassengerDoc) => ({ id: _id, ...rest });

function mayReadPassenger(actor: Actor, passengerId: string): boolean {
  return actor.role === 'admin' || (actor.role === 'passenger' && actor.id === passengerId);
}

export const resolvers = {
  DateTime: DateTimeScalar,
  Query: {
    passenger: async (_: unknown, { id }: { id: string }, ctx: QueriesContext) => {
      const actor = requireActor(ctx.actor);
      if (!mayReadPassenger(actor, id)) throw forbidden('A passenger profile is visible to that passenger and to admins only.');
      const doc = await passengers(ctx.db).findOne({ _id: id });
      if (!doc) throw notFound(`Passenger ${id} is not registered (or not projected yet).`);
      return toPassenger(doc);
    },
  },
  Passenger: {
    // Reached only through a parent the caller may already see (e.g. a trip): no extra check.
    __resolveReference: async ({ id }: { id: string }, ctx: QueriesContext) => {
      const doc = await passengers(ctx.db).findOne({ _id: id });
      return doc ? toPassenger(doc) : null;
    },
  },
};
