import { describe, expect, it } from 'vitest';
import { InMemoryChargeLedger, readSimulatedProviderConfig, SimulatedPaymentProvider } from './simulated-provider.ts';

const request = (idempotencyKey: string, amount = 120, passengerId = 'p1') => ({ idempotencyKey, paymentId: 't1', passengerId, amount });

describe('simulated payment provider', () => {
  it('given a charge answered, when the same key is charged again (another process, same ledger), then the first answer is given and nothing new is recorded', async () => {
    const ledger = new InMemoryChargeLedger();
    const first = await new SimulatedPaymentProvider({ ledger }).charge(request('k1'));

    const again = await new SimulatedPaymentProvider({ ledger, declineAbove: 0 }).charge(request('k1'));

    expect(again).toEqual(first);
    expect(first).toEqual({ outcome: 'PAID', providerReference: 'sim-t1' });
    expect(ledger.charges.size).toBe(1);
  });

  it('given a decline threshold and a declined passenger, when they are charged, then both are declined with a reason', async () => {
    const provider = new SimulatedPaymentProvider({ declineAbove: 100, declinePassengers: ['p2'] });
    expect(await provider.charge(request('k1', 100))).toMatchObject({ outcome: 'DECLINED', reason: expect.stringMatching(/card limit/) });
    expect(await provider.charge(request('k2', 10, 'p2'))).toMatchObject({ outcome: 'DECLINED', reason: 'The card was declined.' });
    expect(await provider.charge(request('k3', 99.99))).toMatchObject({ outcome: 'PAID' });
  });

  it('given a hanging passenger, when charged, then no answer comes and nothing is recorded', async () => {
    const ledger = new InMemoryChargeLedger();
    const answer = await Promise.race([new SimulatedPaymentProvider({ ledger, hangPassengers: ['p1'] }).charge(request('k1')), Promise.resolve('no answer')]);
    expect(answer).toBe('no answer');
    expect(ledger.charges.size).toBe(0);
  });

  it('given the environment, when read, then lists and numbers are parsed and a bad amount names its variable', () => {
    expect(readSimulatedProviderConfig({ PAYMENT_DECLINE_ABOVE: '150', PAYMENT_HANG_PASSENGERS: ' a, b ,', PAYMENT_SLOW_MS: '50' })).toEqual({
      declineAbove: 150,
      declinePassengers: [],
      hangPassengers: ['a', 'b'],
      slowPassengers: [],
      slowMs: 50,
    });
    expect(() => readSimulatedProviderConfig({ PAYMENT_DECLINE_ABOVE: 'lots' })).toThrow(/PAYMENT_DECLINE_ABOVE/);
  });
});
