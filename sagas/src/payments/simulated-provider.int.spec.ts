import { connectMongo, type Mongo } from '@happyride/platform';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { refundKeyOf } from './provider.ts';
import { SIMULATED_CHARGES, SIMULATED_REFUNDS, SimulatedPaymentProvider } from './simulated-provider.ts';

let mongo: Mongo;
beforeAll(async () => {
  mongo = await connectMongo(inject('mongoUrl'), `test_provider_${randomUUID().slice(0, 8)}`, 'test');
});
afterAll(async () => {
  await mongo.db.dropDatabase().catch(() => {});
  await mongo.close();
});

const key = () => `k-${randomUUID().slice(0, 8)}`;
const request = (idempotencyKey: string, amount = 120, passengerId = 'p1') => ({ idempotencyKey, paymentId: `pay-${idempotencyKey}`, passengerId, amount, currency: 'eur' });

describe('simulated payment provider, its ledger in MongoDB', () => {
  it('given a charge answered, when the same key is charged again by another instance, then the first answer is given and one charge is in the ledger', async () => {
    const k = key();
    const first = await new SimulatedPaymentProvider(mongo.db).charge(request(k));

    const again = await new SimulatedPaymentProvider(mongo.db, { declineAbove: 0 }).charge(request(k));

    expect(first).toEqual({ outcome: 'PAID', providerReference: `sim-${k}` });
    expect(again).toEqual(first);
    expect(await mongo.db.collection(SIMULATED_CHARGES).countDocuments({ _id: k as never })).toBe(1);
    expect(await new SimulatedPaymentProvider(mongo.db).findCharge(k)).toEqual(first);
  });

  it('given a decline threshold and a declined passenger, when they are charged, then both are declined with a reason', async () => {
    const provider = new SimulatedPaymentProvider(mongo.db, { declineAbove: 100, declinePassengers: ['p2'] });
    expect(await provider.charge(request(key(), 100))).toMatchObject({ outcome: 'DECLINED', reason: expect.stringMatching(/card limit/) });
    expect(await provider.charge(request(key(), 10, 'p2'))).toMatchObject({ outcome: 'DECLINED', reason: 'The card was declined.' });
    expect(await provider.charge(request(key(), 99.99))).toMatchObject({ outcome: 'PAID' });
  });

  it('given a hanging passenger, when charged, then no answer comes and nothing is charged', async () => {
    const k = key();
    const answer = await Promise.race([new SimulatedPaymentProvider(mongo.db, { hangPassengers: ['p1'] }).charge(request(k)), Promise.resolve('no answer')]);
    expect(answer).toBe('no answer');
    expect(await new SimulatedPaymentProvider(mongo.db).findCharge(k)).toBeNull();
  });

  it('given a late passenger, when charged, then the money is taken at once though the answer is late', async () => {
    const k = key();
    const provider = new SimulatedPaymentProvider(mongo.db, { latePassengers: ['p1'], slowMs: 60_000 });
    const answer = await Promise.race([provider.charge(request(k)), new Promise((resolve) => setTimeout(() => resolve('no answer yet'), 200))]);
    expect(answer).toBe('no answer yet');
    expect(await provider.findCharge(k)).toEqual({ outcome: 'PAID', providerReference: `sim-${k}` });
  });

  it('given a paid charge, when it is refunded twice under its refund key, then one refund is made and the same reference answered', async () => {
    const k = key();
    const provider = new SimulatedPaymentProvider(mongo.db);
    const charged = await provider.charge(request(k, 130.5));
    const chargeReference = charged.outcome === 'PAID' ? charged.providerReference : '';

    const first = await provider.refund({ idempotencyKey: refundKeyOf(chargeReference), chargeReference, amount: 130.5 });
    const second = await new SimulatedPaymentProvider(mongo.db).refund({ idempotencyKey: refundKeyOf(chargeReference), chargeReference, amount: 130.5 });

    expect(second).toEqual(first);
    expect(await mongo.db.collection(SIMULATED_REFUNDS).countDocuments({ chargeReference })).toBe(1);
  });

  it('given no such charge, when it is refunded, then the provider refuses', async () => {
    await expect(new SimulatedPaymentProvider(mongo.db).refund({ idempotencyKey: key(), chargeReference: 'sim-nothing', amount: 1 })).rejects.toThrow(/no charge/);
  });

  it('given charges in two minutes, when charges are listed for a window, then the paid ones in it come oldest first', async () => {
    const provider = new SimulatedPaymentProvider(mongo.db, { declinePassengers: ['p-declined'] });
    await provider.ensureIndexes();
    const from = new Date();
    const [a, b] = [key(), key()];
    await provider.charge(request(a));
    await provider.charge(request(key(), 10, 'p-declined'));
    await provider.charge(request(b));
    const to = new Date(Date.now() + 1);

    const listed = await provider.listCharges(from, to);

    expect(listed.map((charge) => charge.idempotencyKey)).toEqual([a, b]);
    expect(listed[0]).toMatchObject({ paymentId: `pay-${a}`, chargeReference: `sim-${a}`, amount: 120 });
    expect(await provider.listCharges(to, new Date(to.getTime() + 60_000))).toEqual([]);
  });
});
