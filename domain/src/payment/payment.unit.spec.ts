import { describe, it } from 'vitest';
import type { Actor, CommandMetadata } from '../decider.ts';
import { deciderSpecification } from '../testing/decider-specification.ts';
import { paymentDecider, type PaymentCommand, type PaymentEvent } from './index.ts';

const spec = deciderSpecification(paymentDecider);
const system: Actor = { id: 'system', role: 'system' };
const meta = (actor: Actor = system): CommandMetadata => ({ commandId: 'c1', actor, now: '2026-11-23T10:00:00.000Z' });
const paymentId = 't1';

// ---- events ---------------------------------------------------------------------------------
const created: PaymentEvent = { type: 'PaymentCreated', data: { paymentId, tripId: 't1', passengerId: 'p1', amount: 120.5 } };
const paid: PaymentEvent = { type: 'PaymentPaid', data: { paymentId, tripId: 't1', amount: 120.5, providerReference: 'sim-1' } };
const declined: PaymentEvent = { type: 'PaymentDeclined', data: { paymentId, tripId: 't1', reason: 'Card declined.' } };
const refunded: PaymentEvent = { type: 'PaymentRefunded', data: { paymentId, tripId: 't1', amount: 120.5, reason: 'Trip cancelled.' } };
const cancelled: PaymentEvent = { type: 'PaymentCancelled', data: { paymentId, tripId: 't1', reason: 'Trip rejected.' } };

// ---- commands -------------------------------------------------------------------------------
const create = (amount = 120.5, actor?: Actor): PaymentCommand => ({
  type: 'CreatePayment',
  data: { paymentId, tripId: 't1', passengerId: 'p1', amount },
  metadata: meta(actor),
});
const recordPaid: PaymentCommand = { type: 'RecordPaymentResult', data: { paymentId, outcome: 'PAID', providerReference: ' sim-1 ' }, metadata: meta() };
const recordDeclined: PaymentCommand = { type: 'RecordPaymentResult', data: { paymentId, outcome: 'DECLINED', reason: 'Card declined.' }, metadata: meta() };
const refund: PaymentCommand = { type: 'RefundPayment', data: { paymentId, reason: 'Trip cancelled.' }, metadata: meta() };
const cancel: PaymentCommand = { type: 'CancelPayment', data: { paymentId, reason: 'Trip rejected.' }, metadata: meta() };

describe('Payment decider', () => {
  describe('CreatePayment', () => {
    it('given nothing, when the saga creates a payment, then it is created for the amount', () =>
      spec.given([]).when(create()).then([created]));

    it('given nothing, when the fare has float noise from cents rounding, then it is accepted as is', () =>
      spec
        .given([])
        .when(create(72.41))
        .then([{ type: 'PaymentCreated', data: { paymentId, tripId: 't1', passengerId: 'p1', amount: 72.41 } }]));

    it('given a payment, when it is created again, then it is an illegal state', () =>
      spec.given([created]).when(create()).thenFails('ILLEGAL_STATE', /already exists/));

    it.each([
      ['negative', -1],
      ['not finite', Number.POSITIVE_INFINITY],
      ['sub-cent', 1.005],
    ])('given nothing, when the amount is %s, then it is invalid input', (_label, amount) =>
      spec.given([]).when(create(amount)).thenFails('INVALID_INPUT', /amount/));

    it('given nothing, when a passenger sends it, then it is forbidden (internal command)', () =>
      spec.given([]).when(create(10, { id: 'p1', role: 'passenger' })).thenFails('FORBIDDEN', /internal command/));

    it('given nothing, when the payment id is not subject-safe, then it is invalid input', () =>
      spec
        .given([])
        .when({ type: 'CreatePayment', data: { paymentId: 'a.b', tripId: 't1', passengerId: 'p1', amount: 1 }, metadata: meta() })
        .thenFails('INVALID_INPUT', /paymentId/));
  });

  describe('RecordPaymentResult', () => {
    it('given a created payment, when the provider paid it, then it is paid with the trimmed reference', () =>
      spec.given([created]).when(recordPaid).then([paid]));

    it('given a created payment, when paid without a reference, then it is paid without one', () =>
      spec
        .given([created])
        .when({ type: 'RecordPaymentResult', data: { paymentId, outcome: 'PAID' }, metadata: meta() })
        .then([{ type: 'PaymentPaid', data: { paymentId, tripId: 't1', amount: 120.5 } }]));

    it('given a created payment, when the provider declined it, then it is declined with the reason', () =>
      spec.given([created]).when(recordDeclined).then([declined]));

    it('given a created payment, when declined without a reason, then it is invalid input', () =>
      spec
        .given([created])
        .when({ type: 'RecordPaymentResult', data: { paymentId, outcome: 'DECLINED' }, metadata: meta() })
        .thenFails('INVALID_INPUT', /reason/));

    it('given a created payment, when the outcome is unknown, then it is invalid input', () =>
      spec
        .given([created])
        .when({ type: 'RecordPaymentResult', data: { paymentId, outcome: 'MAYBE' as 'PAID' }, metadata: meta() })
        .thenFails('INVALID_INPUT', /outcome/));

    it('given nothing, when a result is recorded, then the payment is not found', () =>
      spec.given([]).when(recordPaid).thenFails('NOT_FOUND'));

    it.each([
      ['paid', [created, paid]],
      ['declined', [created, declined]],
      ['cancelled', [created, cancelled]],
      ['refunded', [created, paid, refunded]],
    ])('given a %s payment, when a result is recorded, then it is an illegal state', (_label, history) =>
      spec.given(history).when(recordPaid).thenFails('ILLEGAL_STATE', /cannot be paid or declined/));
  });

  describe('RefundPayment', () => {
    it('given a paid payment, when it is refunded, then it is refunded for the amount paid', () =>
      spec.given([created, paid]).when(refund).then([refunded]));

    it.each([
      ['created', [created]],
      ['declined', [created, declined]],
      ['refunded', [created, paid, refunded]],
      ['cancelled', [created, cancelled]],
    ])('given a %s payment, when it is refunded, then it is an illegal state', (_label, history) =>
      spec.given(history).when(refund).thenFails('ILLEGAL_STATE', /only a PAID payment/));

    it('given a paid payment, when the provider refunded it, then the refund records the provider\'s reference', () =>
      spec
        .given([created, paid])
        .when({ ...refund, data: { paymentId, reason: 'Trip cancelled.', refundReference: ' re_1 ' } })
        .then([{ type: 'PaymentRefunded', data: { paymentId, tripId: 't1', amount: 120.5, reason: 'Trip cancelled.', refundReference: 're_1' } }]));
    it('given a paid payment, when the refund reference is blank, then it is invalid input', () =>
      spec
        .given([created, paid])
        .when({ ...refund, data: { paymentId, reason: 'Trip cancelled.', refundReference: ' ' } })
        .thenFails('INVALID_INPUT', /refundReference/));
    it('given a paid payment, when the reason is empty, then it is invalid input', () =>
      spec.given([created, paid]).when({ ...refund, data: { paymentId, reason: '  ' } }).thenFails('INVALID_INPUT', /reason/));
  });

  describe('RefundLateCharge', () => {
    const late: PaymentCommand = {
      type: 'RefundLateCharge',
      data: { paymentId, chargeReference: 'sim-late', refundReference: 'sim-refund-late', amount: 120.5, reason: 'Charged after the payment was cancelled.' },
      metadata: meta(),
    };
    const lateRefunded: PaymentEvent = {
      type: 'PaymentLateChargeRefunded',
      data: { paymentId, tripId: 't1', amount: 120.5, chargeReference: 'sim-late', refundReference: 'sim-refund-late', reason: 'Charged after the payment was cancelled.' },
    };
    it('given a cancelled payment, when a late charge was refunded, then it is recorded and the payment stays cancelled', () =>
      spec.given([created, cancelled]).when(late).then([lateRefunded]));
    it('given a late charge refunded already, when it is refunded again, then it is an illegal state', () =>
      spec.given([created, cancelled, lateRefunded]).when(late).thenFails('ILLEGAL_STATE', /refunded already/));
    it.each([
      ['created', [created]],
      ['paid', [created, paid]],
      ['declined', [created, declined]],
      ['refunded', [created, paid, refunded]],
    ])('given a %s payment, when a late charge refund is recorded, then it is an illegal state', (_label, history) =>
      spec.given(history).when(late).thenFails('ILLEGAL_STATE', /only a CANCELLED payment/));
    it('given a cancelled payment, when the charge reference is missing, then it is invalid input', () =>
      spec.given([created, cancelled]).when({ ...late, data: { ...late.data, chargeReference: '' } }).thenFails('INVALID_INPUT', /chargeReference/));
  });

  describe('CancelPayment', () => {
    it('given a created payment, when it is cancelled, then it is cancelled', () =>
      spec.given([created]).when(cancel).then([cancelled]));

    it('given a declined payment, when it is cancelled, then it is cancelled (nothing dangles)', () =>
      spec.given([created, declined]).when(cancel).then([cancelled]));

    it('given a paid payment, when it is cancelled, then it is an illegal state that says to refund', () =>
      spec.given([created, paid]).when(cancel).thenFails('ILLEGAL_STATE', /refund it instead/));

    it.each([
      ['cancelled', [created, cancelled]],
      ['refunded', [created, paid, refunded]],
    ])('given a %s payment, when it is cancelled, then it is an illegal state', (_label, history) =>
      spec.given(history).when(cancel).thenFails('ILLEGAL_STATE'));

    it('given nothing, when a payment is cancelled, then it is not found', () =>
      spec.given([]).when(cancel).thenFails('NOT_FOUND'));
  });
});
