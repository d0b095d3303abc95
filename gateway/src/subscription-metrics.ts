import { Gauge, type Registry } from '@happyride/platform';

/** `graphql_ws_connections` and `graphql_subscriptions_active` on the gateway, read when scraped. */
export function registerSubscriptionMetrics(registry: Registry, stats: () => { connections: number; subscriptions: number }): void {
  new Gauge({
    name: 'graphql_ws_connections',
    help: 'Open graphql-ws sockets.',
    registers: [registry],
    collect() {
      this.set(stats().connections);
    },
  });
  new Gauge({
    name: 'graphql_subscriptions_active',
    help: 'Subscriptions being followed now (over all sockets).',
    registers: [registry],
    collect() {
      this.set(stats().subscriptions);
    },
  });
}
