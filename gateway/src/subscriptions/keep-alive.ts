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
 * before. The sockets are spread over `slices` (one slice pinged per tick), so 10,000 pings
 * never land in one burst that would hold back live pushes.
 */
export class KeepAlive {
  readonly #slices: Array<Set<WebSocket>>;
  readonly #slice = new WeakMap<WebSocket, Set<WebSocket>>();
  readonly #timer: NodeJS.Timeout;
  #added = 0;
  #tick = 0;

  constructor({ periodMs = 12_000, slices = 12 }: { periodMs?: number; slices?: number } = {}) {
    this.#slices = Array.from({ length: slices }, () => new Set<WebSocket>());
    this.#timer = setInterval(() => this.#ping(this.#slices[this.#tick++ % slices]!), periodMs / slices);
    this.#timer.unref();
  }

  add(socket: WebSocket): void {
    const slice = this.#slices[this.#added++ % this.#slices.length]!;
    slice.add(socket);
    this.#slice.set(socket, slice);
    socket.on('pong', onPong);
  }

  delete(socket: WebSocket): void {
    this.#slice.get(socket)?.delete(socket);
    this.#slice.delete(socket);
  }

  stop(): void {
    clearInterval(this.#timer);
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
