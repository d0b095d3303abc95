import { fold, paymentDecider, type PaymentEvent } from '@happyride/domain';
import { describe, expect, it } from 'vitest';
import { judgeCharge } from './late-charges.ts';

const created: PaymentEvent = { type: 'PaymentCreated', data: { paymentId: 't1', tripId: 't1', passengerId: 'p1', amount: 130.5 } };
const paid: PaymentEvent = { type: 'PaymentPaid', data: { paymentId: 't1', tripId: 't1', amount: 130.5, providerReference: 'ch-1' } };
const refunded: PaymentEvent = { type: 'PaymentRefunded', data: { paymentId: 't1', tripId: 't1', amount: 130.5, reason: 'r', refundReference: 're-1' } };
const declined: PaymentEvent = { type: 'PaymentDeclined', data: { paymentId: 't1', tripId: 't1', reason: 'Card declined.' } };
const cancelled: PaymentEvent = { type: 'PaymentCancelled', data: { paymentId: 't1', tripId: 't1', reason: 'Timed out.' } };
const lateRefunded: PaymentEvent = {
  type: 'PaymentLateChargeRefunded',
  data: { paymentId: 't1', tripId: 't1', amount: 130.5, chargeReference: 'ch-1', refundReference: 're-1', reason: 'late' },
};

const paymentAfter = (...events: PaymentEvent[]) => fold(paymentDecider, events);

describe('judgeCharge: what a charge the provider made calls for, given its payment\'s log', () => {
  it.each([
    ['no payment', [], 'unknown'],
    ['a payment awaiting its result', [created], 'pending'],
    ['a payment paid with this charge', [created, paid], 'recorded'],
    ['a payment refunded for this charge', [created, paid, refunded], 'recorded'],
    ['a payment cancelled without it (its answer came late)', [created, cancelled], 'refund'],
    ['a cancelled payment whose late charge was refunded', [created, cancelled, lateRefunded], 'refunded'],
    ['a declined payment (the key answered otherwise)', [created, declined], 'unknown'],
  ] as const)('given %s, when charge ch-1 is judged, then it is %s', (_label, events, kind) => {
    expect(judgeCharge('ch-1', paymentAfter(...events)).kind).toBe(kind);
  });

  it('given a payment paid with another charge, when charge ch-2 is judged, then it is unknown and says why', () => {
    expect(judgeCharge('ch-2', paymentAfter(created, paid))).toEqual({ kind: 'unknown', why: 'payment t1 is PAID with charge ch-1' });
  });
});
