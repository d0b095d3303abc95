/**
 * How many copies JetStream keeps of the event stream and the KV buckets (`EVENT_STREAM_REPLICAS`,
 * validated by each process's configuration): 1 on a server alone, 3 or 5 on a cluster. An
 * existing stream or bucket with another count is brought to it (JetStream moves replicas in
 * place); durable consumers inherit their stream's count. No count: new ones get 1, existing
 * ones keep theirs.
 */
import { Kvm, type KvOptions } from '@nats-io/kv';
import { isUnavailable, JetStreamApiError, type JetStreamManager } from './nats.ts';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ReplicaOptions {
  /** 1 to 5; none: 1 for what is created, existing ones keep theirs. */
  replicas?: number | undefined;
}

/**
 * Creates the KV bucket with `replicas` copies if it is missing, or brings it to that many; an
 * existing bucket gets `options`' size bound (`max_bytes`) and max age (`ttl`) too.
 */
export async function ensureBucket(jsm: JetStreamManager, bucket: string, options: Partial<KvOptions> & { max_bytes: number }, { replicas }: ReplicaOptions = {}): Promise<void> {
  try {
    await new Kvm(jsm.jetstream()).create(bucket, { ...options, replicas: replicas ?? 1 });
  } catch (error) {
    throw replicasError(`the KV bucket ${bucket}`, replicas ?? 1, error);
  }
  const stream = `KV_${bucket}`;
  const { config } = await jsm.streams.info(stream);
  const maxAge = (options.ttl ?? 0) * NANOS_PER_MS;
  if (config.max_bytes !== options.max_bytes || config.max_age !== maxAge) {
    await jsm.streams.update(stream, { max_bytes: options.max_bytes, max_age: maxAge });
  }
  if (replicas !== undefined) await ensureStreamReplicas(jsm, stream, replicas);
}

const NANOS_PER_MS = 1_000_000;

/**
 * Updates the stream's replica count when it differs (JetStream allows it, on a cluster big
 * enough), and waits until the new replicas are current: while they are being built, requests
 * about the stream and its consumers may time out.
 */
export async function ensureStreamReplicas(jsm: JetStreamManager, stream: string, replicas: number, timeoutMs = 60_000): Promise<void> {
  const info = await jsm.streams.info(stream);
  if (info.config.num_replicas === replicas) return;
  // A server alone accepts the update and keeps one copy all the same: refuse it here.
  if (replicas > 1 && info.cluster?.name === undefined) throw new Error(replicasMessage(`the stream ${stream}`, replicas, 'the server is not part of a cluster'));
  try {
    await jsm.streams.update(stream, { num_replicas: replicas });
  } catch (error) {
    throw replicasError(`the stream ${stream} (now ${info.config.num_replicas} replica(s))`, replicas, error);
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const settled = await jsm.streams.info(stream).then(
      ({ cluster }) => replicas === 1 || (cluster?.leader !== undefined && cluster.replicas?.filter((peer) => peer.current).length === replicas - 1),
      (error: unknown) => {
        if (isUnavailable(error)) return false;
        throw error;
      },
    );
    if (settled) return;
    if (Date.now() > deadline) throw new Error(`The stream ${stream} did not have ${replicas} current replicas within ${timeoutMs} ms of the update.`);
    await sleep(100);
  }
}

/** JetStream refused a replica count: say which variable sets it and what fits. */
export function replicasError(what: string, replicas: number, error: unknown): unknown {
  if (!(error instanceof JetStreamApiError)) return error;
  return new Error(replicasMessage(what, replicas, error.message), { cause: error });
}

const replicasMessage = (what: string, replicas: number, reason: string) =>
  `JetStream cannot keep ${replicas} replica(s) of ${what}: ${reason}. EVENT_STREAM_REPLICAS (${replicas}) must not exceed the JetStream servers: 1 for a server alone, 3 on a cluster of 3 (npm run servers -- --nats-cluster 3).`;
