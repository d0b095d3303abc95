import { Gauge, type Registry } from '@happyride/platform';

/**
 * `graphql_ws_connections`, `graphql_subscriptions_active` and `graphql_subscription_reads` (reads
 * made through the graph for live subscriptions since start: one per notice per shared feed, however
 * many subscribers) on the gateway, read when scraped.
 */
export function registerSubscriptionMetrics(registry: Registry, stats: () => { connections: number; subscriptions: number; reads: number }): void {
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
  new Gauge({
    name: 'graphql_subscription_reads',
    help: 'Reads made through the graph for live subscriptions since start (identical subscriptions share one read per notice).',
    registers: [registry],
    collect() {
      this.set(stats().reads);
    },
  });
}
