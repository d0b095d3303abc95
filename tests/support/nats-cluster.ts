/**
 * A JetStream cluster of its own for one test file (never the run's shared server): three
 * nats-server nodes with the per-service users, whose nodes a test kills (kill -9) and restarts
 * with their stores. `violations()` gives what the nodes logged as permission or authorization
 * violations, as `own-event-log.ts` checks for the single server.
 */
import { startLocalServers, type NatsNode } from '@happyride/local-servers';
import type { Nats } from '@happyride/eventstore';
import { readFileSync } from 'node:fs';
import { inject } from 'vitest';

export interface TestNatsCluster {
  /** The admin URL list (`nats://local-admin:…@127.0.0.1:p1,…`): give it to `startTestSystem` as `natsUrl`. */
  url: string;
  nodes: readonly NatsNode[];
  /** The node named `name` (a stream's `cluster.leader`). */
  node(name: string): NatsNode;
  /** The node that leads `stream` now, once it has a leader (fails after `timeoutMs`). */
  streamLeader(jsm: Nats['jsm'], stream: string, timeoutMs?: number): Promise<NatsNode>;
  /** Every `… Violation` line the nodes logged so far. */
  violations(): string[];
  stop(): Promise<void>;
}

export async function startTestNatsCluster(size = 3): Promise<TestNatsCluster> {
  const servers = await startLocalServers({ env: { MONGODB_URL: inject('mongoUrl') }, natsCluster: size, log: () => {} });
  const node = (name: string): NatsNode => {
    const found = servers.natsNodes.find((candidate) => candidate.name === name);
    if (!found) throw new Error(`no node named ${name}; the cluster has ${servers.natsNodes.map((n) => n.name).join(', ')}`);
    return found;
  };
  return {
    url: servers.natsUrl,
    nodes: servers.natsNodes,
    node,
    streamLeader: async (jsm, stream, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const leader = await jsm.streams.info(stream).then(
          (info) => info.cluster?.leader,
          () => undefined, // no leader to answer yet
        );
        if (leader) return node(leader);
        if (Date.now() > deadline) throw new Error(`the stream ${stream} had no leader within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    violations: () => servers.natsNodes.flatMap((n) => readFileSync(n.logFile, 'utf8').split('\n').filter((line) => / Violation/.test(line)).map((line) => `${n.name}: ${line}`)),
    stop: servers.stop,
  };
}
