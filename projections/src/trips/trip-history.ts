import { tripStatuses, UnreachableCaseError, type PaymentEvent, type PaymentStatus, type Position, type TripStatus } from '@happyride/domain';
import type { EventEnvelope } from '@happyride/eventstore';
import type { ReadModelCollection } from '@happyride/platform';

/**
 * Collection names (generation 0; a rebuild's generation n adds `__g<n>`). Each must be listed
 * in platform's `readModels['trip-history']`, so a rebuild moves it with the others: the
 * `satisfies` fails the typecheck otherwise.
 */
export const TRIPS = 'trips' satisfies ReadModelCollection;
export const TRIP_STATS = 'trip_stats' satisfies ReadModelCollection;
export const PASSENGER_NAMES = 'trip_history_passenger_names' satisfies ReadModelCollection;
export const DRIVER_NAMES = 'trip_history_driver_names' satisfies ReadModelCollection;
export const PAYMENTS = 'trip_history_payments' satisfies ReadModelCollection;

/** A trip's payment status as the trip queries serve it: the domain's, or `NONE` before any payment. */
export type TripPaymentStatus = 'NONE' | PaymentStatus;

/** One trip as the trip queries serve it, with the passenger's and driver's names denormalized. */
export interface TripHistoryDocument {
  _id: string;
  /** The trip aggregate version this document reflects. */
  version: number;
  passengerId: string;
  passengerName: string | null;
  /** The passenger aggregate version the name came from; 0 while the name is not known yet. */
  passengerNameVersion: number;
  driverId: string | null;
  driverName: string | null;
  driverNameVersion: number;
  start: Position;
  end: Position;
  distanceKm: number;
  fare: number;
  state: TripStatus;
  /** The status of the trip's payment (the payment event carries the trip id). */
  paymentStatus: TripPaymentStatus;
  /** The payment aggregate version the status came from; 0 while there is no payment. */
  paymentVersion: number;
  candidateDriverIds: string[];
  rejectionReason: string | null;
  dispatchFailureReason: string | null;
  /** The reason of the open cancellation request, then of the cancellation. */
  cancellationReason: string | null;
  cancelledBy: string | null;
  /** Who asked to cancel, while the request is open and once it led to the cancellation. */
  cancellationRequestedBy: string | null;
  createdAt: string;
  /** When the last trip event occurred (a rename of a party does not change it). */
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** This projector's own record of a person's latest name: `{ _id: personId, name, version }`. */
export interface NameLookupDocument {
  _id: string;
  name: string;
  /** The person's aggregate version the name came from: the highest one wins. */
  version: number;
}

/** This projector's own record of a trip's payment: `{ _id: tripId, paymentId, status, version }`. */
export interface PaymentLookupDocument {
  _id: string;
  paymentId: string;
  status: PaymentStatus;
  /** The payment's aggregate version the status came from: the highest one wins. */
  version: number;
}

export interface TripPayment {
  status: PaymentStatus;
  version: number;
}

/** The status a payment is in right after one of its events: each event names it alone. */
export function paymentStatusAfter(event: PaymentEvent): PaymentStatus {
  switch (event.type) {
    case 'PaymentCreated':
      return 'CREATED';
    case 'PaymentPaid':
      return 'PAID';
    case 'PaymentDeclined':
      return 'DECLINED';
    case 'PaymentRefunded':
      return 'REFUNDED';
    case 'PaymentCancelled':
    case 'PaymentLateChargeRefunded': // only a CANCELLED payment's late charge is refunded: it stays CANCELLED
      return 'CANCELLED';
    default:
      throw new UnreachableCaseError(event);
  }
}

export type StateCounts = Record<TripStatus, number>;

/** The single statistics document, `_id: 'all'`. */
export interface TripStatsDocument {
  /** `all` with one partition; `p<index>of<count>` per partition (readers add them up). */
  _id: string;
  total: number;
  byState: StateCounts;
  /** The last stream sequence whose transitions are counted: the idempotence guard. */
  position: number;
}

export interface PersonName {
  name: string;
  version: number;
}

/** The names known so far, by person id. */
export interface KnownNames {
  passengers: ReadonlyMap<string, PersonName>;
  drivers: ReadonlyMap<string, PersonName>;
}

export const emptyStateCounts = (): StateCounts =>
  Object.fromEntries(tripStatuses.map((state) => [state, 0])) as StateCounts;

export const emptyTripStats = (): TripStatsDocument => ({ _id: 'all', total: 0, byState: emptyStateCounts(), position: 0 });

/**
 * Where one partition of the trip history keeps what is not a trip's: its statistics document
 * (each partition counts its own trips, from its own stream positions) and its name lookups
 * (each partition reads every name event, and keeps the names as it has seen them, so its trips
 * converge exactly as with one partition). One partition: the plain ids of before.
 */
export interface TripHistoryScope {
  statsId: string;
  lookupId: (personId: string) => string;
  /** Whether a trip is this partition's (the only ones it writes). */
  owns: (tripId: string) => boolean;
}

/**
 * The trip document after one trip event: a pure function of the document before (null before
 * `TripCreated`), the event and the names and payments (by trip id) known at that point of the stream. Timestamps are the
 * envelope's `occurredAt`, except `createdAt`, `startedAt`, `finishedAt` which the events carry.
 * Returns null for an event on a trip that does not exist (never throws on a recorded event).
 */
export function evolveTrip(
  doc: TripHistoryDocument | null,
  event: EventEnvelope<'trip'>,
  names: KnownNames,
  payments: ReadonlyMap<string, TripPayment> = new Map(),
): TripHistoryDocument | null {
  if (event.type === 'TripCreated') {
    const { tripId, passengerId, start, end, distanceKm, fare, requestedAt } = event.data;
    const passenger = names.passengers.get(passengerId);
    const payment = payments.get(tripId);
    return {
      _id: tripId,
      version: event.version,
      passengerId,
      passengerName: passenger?.name ?? null,
      passengerNameVersion: passenger?.version ?? 0,
      driverId: null,
      driverName: null,
      driverNameVersion: 0,
      start: { lng: start.lng, lat: start.lat },
      end: { lng: end.lng, lat: end.lat },
      distanceKm,
      fare,
      state: 'CREATED',
      paymentStatus: payment?.status ?? 'NONE',
      paymentVersion: payment?.version ?? 0,
      candidateDriverIds: [],
      rejectionReason: null,
      dispatchFailureReason: null,
      cancellationReason: null,
      cancelledBy: null,
      cancellationRequestedBy: null,
      createdAt: requestedAt,
      updatedAt: event.occurredAt,
      startedAt: null,
      finishedAt: null,
    };
  }
  if (doc === null) return null;
  const next: TripHistoryDocument = { ...doc, version: event.version, updatedAt: event.occurredAt };
  switch (event.type) {
    case 'TripConfirmed':
      return { ...next, state: 'CONFIRMED' };
    case 'TripRejected':
      return { ...next, state: 'REJECTED', rejectionReason: event.data.reason };
    case 'TripDispatchStarted':
      return { ...next, state: 'DISPATCHING', candidateDriverIds: [...event.data.candidateDriverIds] };
    case 'DriverAcceptedTrip':
      return next;
    case 'TripDriverAssigned': {
      const { driverId } = event.data;
      const driver = names.drivers.get(driverId);
      return { ...next, state: 'DRIVER_ASSIGNED', driverId, driverName: driver?.name ?? null, driverNameVersion: driver?.version ?? 0 };
    }
    case 'TripDispatchFailed':
      return { ...next, state: 'DISPATCH_FAILED', dispatchFailureReason: event.data.reason };
    case 'TripStarted':
      return { ...next, state: 'STARTED', startedAt: event.data.startedAt };
    case 'TripFinished':
      return { ...next, state: 'FINISHED', finishedAt: event.data.finishedAt };
    case 'TripCancellationRequested':
      return { ...next, state: 'CANCELLATION_REQUESTED', cancellationRequestedBy: event.data.requestedBy, cancellationReason: event.data.reason };
    case 'TripCancelled':
      return { ...next, state: 'CANCELLED', cancelledBy: event.data.cancelledBy, cancellationReason: event.data.reason };
    case 'TripCancellationResolutionRequired':
      // The other party disagreed: the request is withdrawn, the trip goes on with its driver.
      return { ...next, state: 'DRIVER_ASSIGNED', cancellationRequestedBy: null, cancellationReason: null };
    default:
      throw new UnreachableCaseError(event);
  }
}

/**
 * What one trip's change of state does to the counts: a new trip adds to the total and to its
 * state; a transition moves one from the old state to the new. Adds into `into` (`$inc` keys).
 */
export function addTransition(into: Map<string, number>, before: TripStatus | null, after: TripStatus): void {
  if (before === after) return;
  const add = (key: string, n: number) => into.set(key, (into.get(key) ?? 0) + n);
  if (before === null) add('total', 1);
  else add(`byState.${before}`, -1);
  add(`byState.${after}`, 1);
}
