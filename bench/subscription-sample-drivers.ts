/**
 * The sample drivers of `bench:subscriptions`, in a process of their own: their few sockets
 * time each offer's arrival on an event loop that does nothing else, so the delivery latency is
 * the system's, not the bench's (the bench process also holds the 10,000 idle sockets, whose
 * pings, pongs and garbage would delay these timestamps by tens to hundreds of milliseconds).
 * Started by the bench with `fork`: the gateway URL and the drivers (`[{ id, token }]`) as JSON
 * in argv; tells `{ connected }` once every socket is subscribed, `{ offer }` per OPEN offer
 * (the latency from its `updatedAt`, timed here), and on `stop` its event-loop delay (beyond the monitor's resolution), then exits.
 */
import { createClient, type Client } from 'graphql-ws';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket from 'ws';

export type SampleDriversMessage =
  | { type: 'connected' }
  | { type: 'offer'; tripId: string; driverId: string; latencyMs: number }
  | { type: 'stopped'; eventLoopDelayMs: { p50: number; p99: number; max: number } };

/** The event-loop monitor's timer (ms): its figures are this plus the delay. */
const DELAY_RESOLUTION_MS = 5;

const { url, drivers } = JSON.parse(process.argv[2] ?? '{}') as { url: string; drivers: Array<{ id: string; token: string }> };
const tell = (message: SampleDriversMessage) => process.send?.(message);

const OFFERS = 'subscription { dispatchOffers { tripId status updatedAt } }';
type Offer = { tripId: string; status: string; updatedAt: string };

function driverSocket(id: string, token: string, seen: Set<string>): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = createClient({
      url,
      webSocketImpl: WebSocket,
      lazy: true,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${token}` },
      on: { connected: () => resolve(client), error: reject },
    });
    client.subscribe<{ dispatchOffers: Offer }>(
      { query: OFFERS },
      {
        next: ({ data }) => {
          const offer = data?.dispatchOffers;
          if (offer?.status !== 'OPEN' || seen.has(offer.tripId)) return;
          seen.add(offer.tripId);
          tell({ type: 'offer', tripId: offer.tripId, driverId: id, latencyMs: Date.now() - Date.parse(offer.updatedAt) });
        },
        error: reject,
        complete: () => {},
      },
    );
  });
}

const clients = await Promise.all(drivers.map(({ id, token }) => driverSocket(id, token, new Set())));
const delay = monitorEventLoopDelay({ resolution: DELAY_RESOLUTION_MS });
delay.enable();
tell({ type: 'connected' });

process.on('message', async (message) => {
  if (message !== 'stop') return;
  delay.disable();
  const ms = (ns: number) => Math.round(Math.max(0, ns / 1e6 - DELAY_RESOLUTION_MS) * 10) / 10;
  tell({ type: 'stopped', eventLoopDelayMs: { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) } });
  await Promise.all(clients.map((client) => client.dispose()));
  process.disconnect();
});
