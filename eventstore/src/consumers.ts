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
}

export const consumerDefinitions = {
  passengersProjection: {
    name: 'projection-passengers',
    description: 'passengers read model',
    aggregateTypes: ['passenger'],
  },
} as const satisfies Record<string, ConsumerDefinition>;

export type ConsumerName = (typeof consumerDefinitions)[keyof typeof consumerDefinitions]['name'];

export const filterSubjects = (definition: ConsumerDefinition) => definition.aggregateTypes.map(aggregateTypeSubject);
