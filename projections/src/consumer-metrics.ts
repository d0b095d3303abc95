import { EVENTS_STREAM, type Nats } from '@happyride/eventstore';
import { Gauge, type Registry } from '@happyride/platform';

/**
 * Consumer lag as Prometheus gauges, read from JetStream when scraped:
 * `jetstream_consumer_pending` (not yet delivered), `jetstream_consumer_ack_pending`
 * (delivered, not yet acknowledged), `projection_position` (last stream sequence acknowledged)
 * and `event_stream_head` (the stream's last sequence): head − position is how far behind.
 * `consumerNames` is asked at each scrape: a projector's consumer changes when its read model
 * is rebuilt (generations).
 */
export function registerConsumerMetrics(registry: Registry, nats: Nats, consumerNames: () => readonly string[]): void {
  const infos = async () =>
    Promise.all(consumerNames().map(async (name) => ({ name, info: await nats.jsm.consumers.info(EVENTS_STREAM, name).catch(() => null) })));
  new Gauge({
    name: 'jetstream_consumer_pending',
    help: 'Events in the stream not yet delivered to this consumer.',
    labelNames: ['consumer'],
    registers: [registry],
    async collect() {
      for (const { name, info } of await infos()) if (info) this.set({ consumer: name }, info.num_pending);
    },
  });
  new Gauge({
    name: 'jetstream_consumer_ack_pending',
    help: 'Events delivered to this consumer and not yet acknowledged.',
    labelNames: ['consumer'],
    registers: [registry],
    async collect() {
      for (const { name, info } of await infos()) if (info) this.set({ consumer: name }, info.num_ack_pending);
    },
  });
  new Gauge({
    name: 'projection_position',
    help: 'Last stream sequence this consumer acknowledged (its projection is up to here).',
    labelNames: ['consumer'],
    registers: [registry],
    async collect() {
      for (const { name, info } of await infos()) if (info) this.set({ consumer: name }, info.ack_floor.stream_seq);
    },
  });
  new Gauge({
    name: 'event_stream_head',
    help: 'Last sequence of the event stream.',
    registers: [registry],
    async collect() {
      const info = await nats.jsm.streams.info(EVENTS_STREAM).catch(() => null);
      if (info) this.set(info.state.last_seq);
    },
  });
}
