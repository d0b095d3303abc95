import { connectNats, dispatchOfferSubject, type DispatchOfferNotice, type Nats } from '@happyride/eventstore';
import { MongoClient, type Db } from 'mongodb';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { OfferDetails } from './dispatch-commands.ts';
import { DispatchOffers } from './dispatch-offers.ts';

let nats: Nats;
let client: MongoClient;
let db: Db;
beforeAll(async () => {
  nats = await connectNats(inject('natsUrl'), 'dispatch-offers', { coreOnly: true });
  client = await MongoClient.connect(inject('mongoUrl'));
  db = client.db(`dispatch_offers_${randomUUID().slice(0, 8)}`);
});
afterAll(async () => {
  await client.close();
  await nats.close();
});

/** The notices published on the drivers' subjects until `count` have come. */
async function noticesOf(driverIds: readonly string[], count: number, act: () => Promise<void>): Promise<DispatchOfferNotice[]> {
  const heard: DispatchOfferNotice[] = [];
  const subscriptions = driverIds.map((id) => nats.connection.subscribe(dispatchOfferSubject(id), { callback: (_error, message) => void heard.push(message.json<DispatchOfferNotice>()) }));
  await nats.connection.flush();
  await act();
  for (let i = 0; i < 500 && heard.length < count; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  for (const subscription of subscriptions) subscription.unsubscribe();
  if (heard.length < count) throw new Error(`only ${heard.length} of ${count} notices came`);
  return heard;
}

describe('the dispatch offers read model', () => {
  it('given one driver whose offer of the trip was closed, when the trip is offered to them and two more, then only the new offers are written and carried by their notices; the closed one stays closed and its notice is bare', async () => {
    const offers = new DispatchOffers(db, nats);
    await offers.ensureIndexes();
    const tripId = randomUUID();
    const [closed, first, second] = ['closed', 'first', 'second'].map((name) => `${name}-${randomUUID().slice(0, 8)}`) as [string, string, string];
    const offer: OfferDetails = { tripId, passengerId: 'p-1', passengerName: 'Ada', start: { lng: 2.35, lat: 48.85 }, end: { lng: 2.36, lat: 48.86 }, distanceKm: 1.3, fare: 13.25 };
    await offers.open(offer, [closed], '2030-01-01T00:00:00.000Z');
    await offers.close(tripId, [closed], 'EXPIRED');

    const notices = await noticesOf([closed, first, second], 3, () => offers.open(offer, [closed, first, second], '2030-01-01T00:00:00.000Z'));

    expect((await offers.ofDriver(closed)).map((o) => o.status)).toEqual(['EXPIRED']);
    for (const driverId of [first, second]) {
      const [written] = await offers.ofDriver(driverId);
      expect(written).toMatchObject({ _id: `${tripId}:${driverId}`, ...offer, driverId, status: 'OPEN' });
      const { _id, ...fields } = written!;
      expect(notices.find((n) => n.driverId === driverId)).toEqual({ tripId, driverId, status: 'OPEN', offer: fields });
    }
    expect(notices.find((n) => n.driverId === closed)).toEqual({ tripId, driverId: closed, status: 'OPEN' });
  });
});
