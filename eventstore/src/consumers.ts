import type { AggregateType } from '@happyride/domain';
import { aggregateTypeSubject } from './streams.ts';

/**
 * The catalogue of everyone who reads the event log durably. The bootstrap step creates
 * these consumers; workers only bind to them, never create them on a request path.
 */
export interface ConsumerDefinition {
  /** Durable consumer name; also the checkpoint's identity. */
  name: string;
  description: string;
  aggregateTypes: readonly AggregateType[];
  /**
   * Where a newly created consumer starts: `all` (projections rebuild their read model from
   * the whole log) or `new` (process managers act only on what happens after they first
   * exist, and must not re-run history: a saga would create payments for old trips).
   * Once created, a durable consumer keeps its position either way.
   */
  startAt?: 'all' | 'new';
}

export const consumerDefinitions = {
  passengersProjection: {
    name: 'projection-passengers',
    description: 'passengers read model',
    aggregateTypes: ['passenger'],
  },
  driversProjection: {
    name: 'projection-drivers',
    description: 'drivers read model',
    aggregateTypes: ['driver'],
  },
  tripHistoryProjection: {
    // One ordered consumer over all four types: the trip history keeps its own passenger and
    // driver name lookups and payment statuses, consistent with the trip events it has seen.
    // Adding a type to an existing durable consumer: bootstrap updates its filter subjects.
    name: 'projection-trip-history',
    description: 'trip history with passenger and driver names, payment status, and trip statistics',
    aggregateTypes: ['trip', 'passenger', 'driver', 'payment'],
  },
  tripCreationSaga: {
    name: 'saga-trip-creation',
    description: 'trip creation saga (orchestrates trip and payment)',
    aggregateTypes: ['trip', 'payment'],
    startAt: 'new',
  },
  dispatchSaga: {
    name: 'saga-dispatch',
    description: 'dispatch saga (offers, checks, driver reservations)',
    aggregateTypes: ['trip'],
    startAt: 'new',
  },
} as const satisfies Record<string, ConsumerDefinition>;

export type ConsumerName = (typeof consumerDefinitions)[keyof typeof consumerDefinitions]['name'];

export const filterSubjects = (definition: ConsumerDefinition) => definition.aggregateTypes.map(aggregateTypeSubject);
