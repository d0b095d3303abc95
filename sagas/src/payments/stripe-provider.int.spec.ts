/**
 * The Stripe adapter against Stripe's stripe-mock (built from the Go module proxy by
 * `local-servers/src/stripe-mock.ts`), on a free loopback port. stripe-mock is stateless: it
 * validates every request against Stripe's OpenAPI spec (an unknown or ill-typed parameter is a
 * 400) and answers from fixtures. So this test checks what can be checked against it: each call
 * is a request Stripe accepts, carries its idempotency key on the wire, and its answer is
 * parsed. A small recording relay in front of stripe-mock shows the wire (it forwards bytes, it
 * answers nothing itself). That the key makes Stripe answer a retry with its first answer is
 * Stripe's documented contract, argued in the README ("Money is exact"). A second stripe-mock
 * answers from a PaymentIntent fixture that `succeeded` (made under a known key): the success
 * path (PAID, then a refund of that PaymentIntent) and a retry that finds the earlier charge.
 */
import { startStripeMock, type StripeMock } from '@happyride/local-servers/stripe-mock';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StripePaymentProvider } from './stripe-provider.ts';

interface Recorded {
  method: string;
  path: string;
  idempotencyKey: string | undefined;
  body: URLSearchParams;
  status: number;
}

let mock: StripeMock;
let relay: Server;
let relayUrl: URL;
const recorded: Recorded[] = [];
/** A stripe-mock whose PaymentIntent fixture `succeeded` (a charge that took the money), made under `chargedKey`. */
let paidMock: StripeMock;
let paidRelay: Server;
let paidRelayUrl: URL;
const paidRecorded: Recorded[] = [];
const chargedKey = 'trip-creation-t9:pay-payment';

/** A recording relay in front of `target`: it forwards bytes, answers nothing itself. */
async function startRelay(target: URL, into: Recorded[]): Promise<{ server: Server; url: URL }> {
  const server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const body = Buffer.concat(chunks);
      const forward = httpRequest({ host: target.hostname, port: target.port, method: incoming.method, path: incoming.url, headers: incoming.headers }, (answer) => {
        into.push({
          method: incoming.method ?? '',
          path: incoming.url ?? '',
          idempotencyKey: incoming.headers['idempotency-key'] as string | undefined,
          body: new URLSearchParams(body.toString()),
          status: answer.statusCode ?? 0,
        });
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      });
      forward.on('error', (error) => outgoing.destroy(error));
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`) };
}

beforeAll(async () => {
  mock = await startStripeMock();
  ({ server: relay, url: relayUrl } = await startRelay(new URL(mock.url), recorded));
  paidMock = await startStripeMock({
    fixtures: (bundled) => {
      const intent = bundled.resources['payment_intent'] ?? {};
      const succeeded = { ...intent, status: 'succeeded', amount: 11675, amount_received: 11675, last_payment_error: null, metadata: { idempotencyKey: chargedKey, paymentId: 't9', passengerId: 'p9' } };
      return { resources: { ...bundled.resources, payment_intent: succeeded } };
    },
  });
  ({ server: paidRelay, url: paidRelayUrl } = await startRelay(new URL(paidMock.url), paidRecorded));
}, 600_000); // the first run builds stripe-mock
afterAll(async () => {
  await new Promise((resolve) => relay?.close(resolve));
  await new Promise((resolve) => paidRelay?.close(resolve));
  await mock?.stop();
  await paidMock?.stop();
});

const provider = () => new StripePaymentProvider({ apiKey: 'sk_test_happyride', apiBase: relayUrl });
const last = () => recorded.at(-1);

describe('Stripe adapter against stripe-mock', () => {
  it('given a charge, when it is sent, then it is a confirmed PaymentIntent in cents with the key on the wire and in the metadata, and the answer is parsed', async () => {
    const answer = await provider().charge({ idempotencyKey: 'trip-creation-t1:pay-payment', paymentId: 't1', passengerId: 'p1', amount: 130.5, currency: 'eur' });

    const sent = last();
    expect(sent).toMatchObject({ method: 'POST', path: '/v1/payment_intents', idempotencyKey: 'trip-creation-t1:pay-payment', status: 200 });
    expect(Object.fromEntries(sent?.body ?? [])).toMatchObject({
      amount: '13050',
      currency: 'eur',
      confirm: 'true',
      payment_method: 'pm_card_visa',
      'metadata[idempotencyKey]': 'trip-creation-t1:pay-payment',
      'metadata[paymentId]': 't1',
      'metadata[passengerId]': 'p1',
    });
    // stripe-mock's fixture PaymentIntent is `requires_payment_method`: not charged, which the adapter reads as declined.
    expect(answer).toEqual({ outcome: 'DECLINED', reason: 'The payment was not completed (requires_payment_method).' });
  });

  it('given a retried charge, when it is sent again, then it carries the same idempotency key', async () => {
    const request = { idempotencyKey: 'trip-creation-t2:pay-payment', paymentId: 't2', passengerId: 'p1', amount: 12, currency: 'eur' };
    await provider().charge(request);
    await provider().charge(request);
    const keys = recorded.filter((entry) => entry.body.get('metadata[paymentId]') === 't2').map((entry) => entry.idempotencyKey);
    expect(keys).toEqual(['trip-creation-t2:pay-payment', 'trip-creation-t2:pay-payment']);
  });

  it('given a refund, when it is sent, then it refunds the PaymentIntent in cents under its key and answers the refund id', async () => {
    const { refundReference } = await provider().refund({ idempotencyKey: 'refund-pi_123', chargeReference: 'pi_123', amount: 130.5 });

    expect(last()).toMatchObject({ method: 'POST', path: '/v1/refunds', idempotencyKey: 'refund-pi_123', status: 200 });
    expect(Object.fromEntries(last()?.body ?? [])).toMatchObject({ payment_intent: 'pi_123', amount: '13050', 'metadata[idempotencyKey]': 'refund-pi_123' });
    expect(refundReference).toMatch(/^re_/);
  });

  it('given a lookup by key, when it is sent, then it is a PaymentIntent search on the metadata, and an intent with other metadata is not taken for it', async () => {
    const found = await provider().findCharge("trip-creation-t1:pay-payment");

    expect(last()).toMatchObject({ method: 'GET', idempotencyKey: undefined, status: 200 });
    expect(decodeURIComponent(last()?.path ?? '')).toContain("/v1/payment_intents/search?query=metadata['idempotencyKey']:'trip-creation-t1:pay-payment'");
    expect(found).toBeNull(); // stripe-mock's fixture intent has no such metadata
  });

  it('given a reconciliation window, when charges are listed, then it is a PaymentIntent list by creation time and the page is parsed', async () => {
    const from = new Date('2026-11-25T10:00:00Z');
    const charges = await provider().listCharges(from, new Date('2026-11-25T11:00:00Z'));

    expect(last()).toMatchObject({ method: 'GET', status: 200 });
    const query = new URLSearchParams((last()?.path ?? '').split('?')[1]);
    expect(Object.fromEntries(query)).toMatchObject({ 'created[gte]': String(from.getTime() / 1000), 'created[lt]': String(from.getTime() / 1000 + 3600), limit: '100' });
    expect(charges).toEqual([]); // the fixture's intent is not a succeeded charge of ours
  });

  it('given a request Stripe does not accept (an amount that is not an integer of cents), when sent, then stripe-mock refuses it and the adapter throws (the command stays in the outbox)', async () => {
    await expect(provider().refund({ idempotencyKey: 'refund-bad', chargeReference: 'pi_123', amount: Number.NaN })).rejects.toThrow();
    expect(last()).toMatchObject({ path: '/v1/refunds', idempotencyKey: 'refund-bad', status: 400 });
  });
});

describe('Stripe adapter against stripe-mock whose PaymentIntent succeeded', () => {
  const paidProvider = () => new StripePaymentProvider({ apiKey: 'sk_test_happyride', apiBase: paidRelayUrl });
  const posts = () => paidRecorded.filter((entry) => entry.method === 'POST');

  it('given a new charge, when Stripe answers `succeeded`, then it is PAID with the PaymentIntent, and a refund of that PaymentIntent is made and answered', async () => {
    const charge = await paidProvider().charge({ idempotencyKey: 'trip-creation-t10:pay-payment', paymentId: 't10', passengerId: 'p10', amount: 116.75, currency: 'eur' });
    expect(charge).toEqual({ outcome: 'PAID', providerReference: expect.stringMatching(/^pi_/) });
    expect(posts().at(-1)).toMatchObject({ path: '/v1/payment_intents', idempotencyKey: 'trip-creation-t10:pay-payment', status: 200 });

    const reference = charge.outcome === 'PAID' ? charge.providerReference : '';
    const { refundReference } = await paidProvider().refund({ idempotencyKey: `refund-${reference}`, chargeReference: reference, amount: 116.75 });
    expect(refundReference).toMatch(/^re_/);
    expect(posts().at(-1)).toMatchObject({ path: '/v1/refunds', idempotencyKey: `refund-${reference}`, status: 200 });
    expect(Object.fromEntries(posts().at(-1)?.body ?? [])).toMatchObject({ payment_intent: reference, amount: '11675' });
  });

  it('given a charge made before a crash, when it is retried, then the earlier PaymentIntent is looked up by its key and answered, and nothing is charged again', async () => {
    const before = posts().length;
    const answer = await paidProvider().charge({ idempotencyKey: chargedKey, paymentId: 't9', passengerId: 'p9', amount: 116.75, currency: 'eur' });

    expect(answer).toEqual({ outcome: 'PAID', providerReference: expect.stringMatching(/^pi_/) });
    expect(posts().length).toBe(before); // no new PaymentIntent
    expect(decodeURIComponent(paidRecorded.at(-1)?.path ?? '')).toContain(`/v1/payment_intents/search?query=metadata['idempotencyKey']:'${chargedKey}'`);
  });
});
