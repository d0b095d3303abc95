import type { JetStreamManager, StreamInfo } from './nats.ts';

/**
 * Why a stream cannot take writes now, from its info: on a cluster, a stream with no leader
 * (an election under way, or too few nodes for a quorum) takes no appends even though the
 * servers answer; `null` when it has one (a single server always leads its streams).
 */
export function leaderlessReason(info: Pick<StreamInfo, 'cluster' | 'config'>): string | null {
  if (info.cluster === undefined || info.cluster.leader) return null;
  return `the stream ${info.config.name} has no leader (an election is under way, or a quorum of its ${info.config.num_replicas} replicas is gone)`;
}

/**
 * A readiness probe of one stream (the event log, or a KV bucket's `KV_<bucket>`): resolves
 * when it has a leader, rejects with the reason otherwise. The stream's info is answered by
 * its leader, so a stream without one does not answer at all and the probe's timeout says so.
 * @example readinessCheck('the event log', () => streamHasLeader(nats.jsm, EVENTS_STREAM))
 */
export async function streamHasLeader(jsm: JetStreamManager, stream: string): Promise<void> {
  const reason = leaderlessReason(await jsm.streams.info(stream));
  if (reason !== null) throw new Error(reason);
}
