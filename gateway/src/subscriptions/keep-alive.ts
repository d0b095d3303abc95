import type { WebSocket } from 'ws';

/** Sockets pinged and not answered yet (a socket is in one server's keep-alive only). */
const awaitingPong = new WeakSet<WebSocket>();

/** One listener for every socket (`this` is the socket that answered). */
function onPong(this: WebSocket): void {
  awaitingPong.delete(this);
}

/**
 * graphql-ws's keep-alive for every socket on one timer, without a timer or closure per socket:
 * each socket is pinged once per `periodMs` and terminated when it has not answered the ping
 * before. The sockets are spread over `slices` (one slice pinged per tick, every 50 ms by
 * default): a ping is a write to the kernel each, so 10,000 sockets pinged in 12 slices held the
 * event loop 100–500 ms every second on a loaded machine (the profile of `bench:subscriptions`),
 * and the offers due meanwhile waited; in 240 slices a tick is ~40 pings. The timer runs only
 * while there are sockets.
 */
export class KeepAlive {
  readonly #slices: Array<Set<WebSocket>>;
  readonly #slice = new WeakMap<WebSocket, Set<WebSocket>>();
  readonly #tickMs: number;
  #timer: NodeJS.Timeout | undefined;
  #sockets = 0;
  #added = 0;
  #tick = 0;

  constructor({ periodMs = 12_000, slices = 240 }: { periodMs?: number; slices?: number } = {}) {
    this.#slices = Array.from({ length: slices }, () => new Set<WebSocket>());
    this.#tickMs = periodMs / slices;
  }

  add(socket: WebSocket): void {
    if (this.#slice.has(socket)) return;
    const slice = this.#slices[this.#added++ % this.#slices.length]!;
    slice.add(socket);
    this.#slice.set(socket, slice);
    socket.on('pong', onPong);
    if (this.#sockets++ === 0) this.#start();
  }

  delete(socket: WebSocket): void {
    const slice = this.#slice.get(socket);
    if (!slice) return;
    slice.delete(socket);
    this.#slice.delete(socket);
    if (--this.#sockets === 0) this.stop();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #start(): void {
    this.#timer ??= setInterval(() => this.#ping(this.#slices[this.#tick++ % this.#slices.length]!), this.#tickMs);
    this.#timer.unref();
  }

  #ping(slice: Set<WebSocket>): void {
    for (const socket of slice) {
      if (socket.readyState !== socket.OPEN) continue;
      if (awaitingPong.has(socket)) {
        socket.terminate();
        continue;
      }
      awaitingPong.add(socket);
      socket.ping();
    }
  }
}
