import type { Delivery } from '@happyride/eventstore';
import { describe, expect, it } from 'vitest';
import { touchedBy } from './trip-notices.ts';

const delivery = (aggregateType: string, aggregateId: string, type: string): Delivery =>
  ({ commit: { aggregateType, aggregateId, commandId: 'c', version: 1, events: [{ type }] }, streamSequence: 1, deliveryCount: 1 }) as unknown as Delivery;

describe('which trips a batch touches', () => {
  it('given trip events, renames and other events, then its trips and the renamed people are touched, nothing else', () => {
    const touched = touchedBy([
      delivery('trip', 't1', 'TripCreated'),
      delivery('trip', 't1', 'TripConfirmed'),
      delivery('passenger', 'p1', 'PassengerDetailsUpdated'),
      delivery('passenger', 'p2', 'PassengerBanned'),
      delivery('driver', 'd1', 'DriverRegistered'),
      delivery('driver', 'd2', 'DriverWentOnline'),
    ]);
    expect(touched).toEqual({ tripIds: new Set(['t1']), passengerIds: new Set(['p1']), driverIds: new Set(['d1']) });
  });

  it('given a payment event, then the trip it names is touched (its paymentStatus changed)', () => {
    const payment = {
      commit: { aggregateType: 'payment', aggregateId: 'pay1', commandId: 'c', version: 1, events: [{ type: 'PaymentPaid', aggregateType: 'payment', data: { paymentId: 'pay1', tripId: 't9', amount: 120 } }] },
      streamSequence: 2,
      deliveryCount: 1,
    } as unknown as Delivery;
    expect(touchedBy([payment]).tripIds).toEqual(new Set(['t9']));
  });
});
