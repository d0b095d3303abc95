import { describe, expect, it } from 'vitest';
import { readPaymentProviderConfig } from './config.ts';

describe('payment provider configuration', () => {
  it('given nothing, when read, then the simulated provider in euros, reconciled every minute', () => {
    expect(readPaymentProviderConfig({})).toMatchObject({ kind: 'simulated', currency: 'eur', reconcileIntervalMs: 60_000 });
  });

  it('given the simulated provider\'s variables, when read, then lists and numbers are parsed and a bad amount names its variable', () => {
    const env = { PAYMENT_DECLINE_ABOVE: '150', PAYMENT_HANG_PASSENGERS: ' a, b ,', PAYMENT_LATE_PASSENGERS: 'c', PAYMENT_SLOW_MS: '50' };
    expect(readPaymentProviderConfig(env)).toMatchObject({
      kind: 'simulated',
      simulated: { declineAbove: 150, declinePassengers: [], hangPassengers: ['a', 'b'], slowPassengers: [], latePassengers: ['c'], slowMs: 50 },
    });
    expect(() => readPaymentProviderConfig({ PAYMENT_DECLINE_ABOVE: 'lots' })).toThrow(/PAYMENT_DECLINE_ABOVE/);
  });

  it('given Stripe with a test key and stripe-mock\'s base, when read, then both are taken', () => {
    const config = readPaymentProviderConfig({ PAYMENT_PROVIDER: 'stripe', STRIPE_API_KEY: 'sk_test_123', STRIPE_API_BASE: 'http://127.0.0.1:12111', PAYMENT_CURRENCY: 'USD' });
    expect(config).toMatchObject({ kind: 'stripe', currency: 'usd', stripe: { apiKey: 'sk_test_123', paymentMethod: 'pm_card_visa' } });
    expect(config.kind === 'stripe' ? config.stripe.apiBase?.port : undefined).toBe('12111');
  });

  it.each([
    [{ PAYMENT_PROVIDER: 'paypal' }, /PAYMENT_PROVIDER/],
    [{ PAYMENT_PROVIDER: 'stripe' }, /STRIPE_API_KEY is required/],
    [{ PAYMENT_PROVIDER: 'stripe', STRIPE_API_BASE: 'ftp://x', STRIPE_API_KEY: 'sk_test_1' }, /STRIPE_API_BASE/],
    [{ PAYMENT_CURRENCY: 'euro' }, /PAYMENT_CURRENCY/],
    [{ PAYMENT_RECONCILE_INTERVAL_MS: '0' }, /PAYMENT_RECONCILE_INTERVAL_MS/],
  ])('given %o, when read, then start-up stops naming the variable', (env, message) => {
    expect(() => readPaymentProviderConfig(env)).toThrow(message);
  });

  it('given a Stripe key of the wrong kind, when read, then the error names the variable and never shows the value', () => {
    const read = () => readPaymentProviderConfig({ PAYMENT_PROVIDER: 'stripe', STRIPE_API_KEY: 'pk_test_secretish' });
    expect(read).toThrow(/STRIPE_API_KEY/);
    expect(read).not.toThrow(/secretish/);
  });

  it.each(['sk_live_secretish', 'rk_live_secretish'])('given a live Stripe key (%s), when read, then start-up stops: every passenger would pay with the one configured card', (key) => {
    const read = () => readPaymentProviderConfig({ PAYMENT_PROVIDER: 'stripe', STRIPE_API_KEY: key });
    expect(read).toThrow(/live key.*refused.*no per-passenger payment methods/);
    expect(read).not.toThrow(/secretish/);
  });

  it('given a restricted test key, when read, then it is accepted', () =>
    expect(readPaymentProviderConfig({ PAYMENT_PROVIDER: 'stripe', STRIPE_API_KEY: 'rk_test_1' })).toMatchObject({ kind: 'stripe', stripe: { apiKey: 'rk_test_1' } }));
});
