import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { WebSocket } from 'ws';
import { KeepAlive } from './keep-alive.ts';

/** What KeepAlive uses of a `ws` socket: its state, ping, terminate and the `pong` event. */
class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  pings = 0;
  terminated = false;
  ping() {
    this.pings++;
  }
  terminate() {
    this.terminated = true;
  }
}
const asSocket = (socket: FakeSocket) => socket as unknown as WebSocket;

describe('KeepAlive', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('given sockets, then each is pinged once per period, spread over it, and one that does not answer is terminated at its next turn', () => {
    const keepAlive = new KeepAlive({ periodMs: 1_200, slices: 12 });
    const sockets = Array.from({ length: 24 }, () => new FakeSocket());
    for (const socket of sockets) keepAlive.add(asSocket(socket));

    vi.advanceTimersByTime(100);
    expect(sockets.filter((s) => s.pings === 1)).toHaveLength(2); // one slice a tick
    vi.advanceTimersByTime(1_100);
    expect(sockets.every((s) => s.pings === 1)).toBe(true);

    for (const socket of sockets.slice(1)) socket.emit('pong');
    vi.advanceTimersByTime(1_200);
    expect(sockets[0]!.terminated).toBe(true);
    expect(sockets.slice(1).every((s) => !s.terminated && s.pings === 2)).toBe(true);
    keepAlive.stop();
  });

  it('given a socket deleted (closed), then it is pinged no more', () => {
    const keepAlive = new KeepAlive({ periodMs: 1_200, slices: 12 });
    const socket = new FakeSocket();
    keepAlive.add(asSocket(socket));
    keepAlive.delete(asSocket(socket));
    vi.advanceTimersByTime(5_000);
    expect(socket.pings).toBe(0);
    keepAlive.stop();
  });

  it('given no socket, then no timer runs; given the last socket deleted, then its timer stops', () => {
    const keepAlive = new KeepAlive();
    expect(vi.getTimerCount()).toBe(0);
    const [first, second] = [new FakeSocket(), new FakeSocket()];
    keepAlive.add(asSocket(first));
    keepAlive.add(asSocket(second));
    expect(vi.getTimerCount()).toBe(1);
    keepAlive.delete(asSocket(first));
    expect(vi.getTimerCount()).toBe(1);
    keepAlive.delete(asSocket(second));
    expect(vi.getTimerCount()).toBe(0);
  });

  it('given 10,000 sockets, then a tick pings a 240th of them (every 50 ms), never a burst of thousands', () => {
    const keepAlive = new KeepAlive({ periodMs: 12_000 });
    const sockets = Array.from({ length: 10_000 }, () => new FakeSocket());
    for (const socket of sockets) keepAlive.add(asSocket(socket));
    vi.advanceTimersByTime(50);
    expect(sockets.filter((s) => s.pings === 1).length).toBeLessThanOrEqual(42);
    vi.advanceTimersByTime(12_000 - 50);
    expect(sockets.every((s) => s.pings === 1)).toBe(true);
    keepAlive.stop();
  });
});
