import type { AggregateType } from '@happyride/domain';

/** The event log: one stream, one subject per aggregate instance. */
export const EVENTS_STREAM = 'EVENTS';
export const EVENTS_SUBJECT_PREFIX = 'events';

/** `events.<aggregateType>.<aggregateId>`: ids are validated subject-safe before they get here. */
export const aggregateSubject = (aggregateType: AggregateType, aggregateId: string) =>
  `${EVENTS_SUBJECT_PREFIX}.${aggregateType}.${aggregateId}`;

/** Every instance of one aggregate type, for consumers that follow that type. */
export const aggregateTypeSubject = (aggregateType: AggregateType) => `${EVENTS_SUBJECT_PREFIX}.${aggregateType}.*`;

/** Message header names the event store writes besides JetStream's own. */
export const HEADER = {
  correlationId: 'Happyride-Correlation-Id',
  causationId: 'Happyride-Causation-Id',
  eventTypes: 'Happyride-Event-Types',
  traceparent: 'traceparent',
} as const;
