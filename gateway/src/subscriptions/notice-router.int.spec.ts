import { connectNats, type Nats } from '@happyride/eventstore';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { NoticeRouter } from './notice-router.ts';

/** The router against a real nats-server: notices are core NATS messages published by another connection. */
let gatewaySide: Nats;
let publisher: Nats;

beforeAll(async () => {
  gatewaySide = await connectNats(inject('natsUrl'), 'notice-router-test');
  publisher = await connectNats(inject('natsUrl'), 'notice-router-test-publisher');
});
afterAll(async () => {
  await gatewaySide?.close();
  await publisher?.close();
});

/** Waits until `ok`; fails on timeout. */
async function until(ok: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('NoticeRouter', () => {
  it('given feeds on many subjects, when notices are published, then each reaches the feeds of its subject only', async () => {
    const prefix = `routertest${randomUUID().slice(0, 8)}`;
    const router = new NoticeRouter(gatewaySide, [`${prefix}.a.*`, `${prefix}.b.*`]);
    const heard: string[] = [];
    const stops = await Promise.all(
      ['a.1', 'a.2', 'b.1'].map((subject) => router.listen(`${prefix}.${subject}`, (notice) => heard.push(`${subject}:${(notice as { n: number }).n}`))),
    );
    const twice = await router.listen(`${prefix}.a.1`, (notice) => heard.push(`a.1 again:${(notice as { n: number }).n}`));

    // Published right after listening resolved: heard (the patterns were flushed once).
    for (const [subject, n] of [['a.1', 1], ['b.1', 2], ['a.3', 3], ['a.2', 4]] as const) publisher.connection.publish(`${prefix}.${subject}`, JSON.stringify({ n }));
    publisher.connection.publish(`${prefix}.a.2`, 'not json');
    await publisher.connection.flush();

    await until(() => heard.length === 4, 'four notices');
    expect(heard.sort()).toEqual(['a.1 again:1', 'a.1:1', 'a.2:4', 'b.1:2']);
    expect(router.subjects).toBe(3);

    // When a feed stops listening, then its subject's other feed still hears; a subject nobody follows is forgotten.
    stops[0]!();
    stops[2]!();
    publisher.connection.publish(`${prefix}.a.1`, JSON.stringify({ n: 5 }));
    publisher.connection.publish(`${prefix}.b.1`, JSON.stringify({ n: 6 }));
    await publisher.connection.flush();
    await until(() => heard.length === 5, 'the fifth notice');
    expect(heard.at(-1)).toBe('a.1 again:5');
    expect(router.subjects).toBe(2);
    twice();
    router.stop();
  });
});
