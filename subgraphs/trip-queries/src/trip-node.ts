import type { TripHistoryDocument } from '@happyride/projections/trips/trip-history';
import type { Trip } from './generated/resolvers-types.ts';

/**
 * A trip as the resolvers hand it on: its trip-history document with `_id` as `id`. The
 * generated types take it as the parent of `Trip`'s fields (the `mappers` entry in
 * `schema/resolver-types.ts`); `satisfies Trip` below checks it still has every field the
 * schema serves, with the schema's types.
 */
export type TripNode = Omit<TripHistoryDocument, '_id'> & { id: string };

export const toTrip = ({ _id, ...rest }: TripHistoryDocument): TripNode => ({ id: _id, ...rest }) satisfies Trip;
