/**
 * `npm run bench:geo`: candidate search among N online drivers (100k by default) with the
 * dispatch index (`AvailableDriversIndex.nearest(point, 10 km, 100)`), and the same queries
 * against Redis `GEOSEARCH … BYRADIUS 10 km ASC COUNT 100` on the same data in the same run
 * (Debian's redis-server, started here on a free port; installed with apt-get when missing).
 * Prints p50/p99 of each and the ratio; writes bench/results/geo.json.
 *
 * The index runs in-process and Redis over loopback: the ratio is what dispatch would pay
 * for each, not the cost of the two algorithms alone.
 */
import { AvailableDriversIndex, type Position } from '@happyride/domain';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../scripts/system.ts';
import { percentile, round, writeResults } from './stats.ts';

const { values } = parseArgs({
  options: {
    drivers: { type: 'string', default: '100000' },
    queries: { type: 'string', default: '5000' },
    radius: { type: 'string', default: '10' },
    limit: { type: 'string', default: '100' },
    /** Side of the square area the drivers are spread over, in km (a large city). */
    area: { type: 'string', default: '60' },
  },
});
const driverCount = Number(values.drivers);
const queryCount = Number(values.queries);
const radiusKm = Number(values.radius);
const limit = Number(values.limit);
const areaKm = Number(values.area);

// ---- data: drivers spread over a city around Beijing, queries anywhere in it --------------------
let seed = 7;
const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
const centre: Position = { lng: 116.4, lat: 39.9 };
const latSpan = areaKm / 111.195;
const lngSpan = areaKm / (111.195 * Math.cos((centre.lat * Math.PI) / 180));
const somewhere = (): Position => ({ lng: centre.lng + (random() - 0.5) * lngSpan, lat: centre.lat + (random() - 0.5) * latSpan });
const drivers = Array.from({ length: driverCount }, (_, i) => ({ id: `d${i}`, position: somewhere() }));
const queries = Array.from({ length: queryCount }, somewhere);

// ---- the index -------------------------------------------------------------------------------
const index = new AvailableDriversIndex();
const built = performance.now();
for (const { id, position } of drivers) {
  index.setOnline(id, true);
  index.moveTo(id, position);
}
const buildMs = performance.now() - built;
for (let i = 0; i < 500; i++) index.nearest(queries[i % queries.length]!, radiusKm, limit); // warm-up
const indexLatencies: number[] = [];
const indexFound: number[] = [];
for (const point of queries) {
  const t0 = performance.now();
  const found = index.nearest(point, radiusKm, limit);
  indexLatencies.push(performance.now() - t0);
  indexFound.push(found.length);
}

// ---- Redis -----------------------------------------------------------------------------------
function ensureRedis(): string {
  const binary = '/usr/bin/redis-server';
  if (existsSync(binary)) return binary;
  console.log('redis-server is missing: installing Debian\'s package with apt-get …');
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'redis-server'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return binary;
}

/** A minimal RESP client: enough for GEOADD and GEOSEARCH, pipelined. */
class Resp {
  #buffer = Buffer.alloc(0);
  #waiting: Array<(value: unknown) => void> = [];
  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      for (;;) {
        const parsed = parse(this.#buffer, 0);
        if (!parsed) break;
        this.#buffer = this.#buffer.subarray(parsed.end);
        this.#waiting.shift()?.(parsed.value);
      }
    });
  }
  static connect(port: number): Promise<Resp> {
    return new Promise((resolve, reject) => {
      const socket = createConnection({ port, host: '127.0.0.1' }, () => resolve(new Resp(socket)));
      socket.once('error', reject);
    });
  }
  send(...args: (string | number)[]): Promise<unknown> {
    const parts = args.map(String);
    this.socket.write(`*${parts.length}\r\n${parts.map((p) => `$${Buffer.byteLength(p)}\r\n${p}\r\n`).join('')}`);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }
  close() {
    this.socket.end();
  }
}

function parse(buffer: Buffer, start: number): { value: unknown; end: number } | null {
  const lineEnd = buffer.indexOf('\r\n', start);
  if (lineEnd < 0) return null;
  const kind = String.fromCharCode(buffer[start]!);
  const text = buffer.toString('utf8', start + 1, lineEnd);
  switch (kind) {
    case '+':
    case ':':
      return { value: text, end: lineEnd + 2 };
    case '-':
      return { value: new Error(text), end: lineEnd + 2 };
    case '$': {
      const length = Number(text);
      if (length < 0) return { value: null, end: lineEnd + 2 };
      if (buffer.length < lineEnd + 2 + length + 2) return null;
      return { value: buffer.toString('utf8', lineEnd + 2, lineEnd + 2 + length), end: lineEnd + 2 + length + 2 };
    }
    case '*': {
      const count = Number(text);
      const items: unknown[] = [];
      let at = lineEnd + 2;
      for (let i = 0; i < count; i++) {
        const item = parse(buffer, at);
        if (!item) return null;
        items.push(item.value);
        at = item.end;
      }
      return { value: items, end: at };
    }
    default:
      throw new Error(`unexpected RESP type ${kind}`);
  }
}

const port = await freePort();
const redis = spawn(ensureRedis(), ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', mkdtempSync(join(tmpdir(), 'bench-geo-'))], { stdio: 'ignore' });
let client: Resp | undefined;
for (let attempt = 0; attempt < 100 && !client; attempt++) {
  client = await Resp.connect(port).catch(async () => {
    await new Promise((resolve) => setTimeout(resolve, 50));
    return undefined;
  });
}
if (!client) throw new Error('redis-server did not start');
try {
  const loads: Promise<unknown>[] = [];
  for (let i = 0; i < drivers.length; i += 1000) {
    const args: (string | number)[] = ['GEOADD', 'drivers'];
    for (const { id, position } of drivers.slice(i, i + 1000)) args.push(position.lng, position.lat, id);
    loads.push(client.send(...args));
  }
  await Promise.all(loads);
  const search = (point: Position) => client!.send('GEOSEARCH', 'drivers', 'FROMLONLAT', point.lng, point.lat, 'BYRADIUS', radiusKm, 'km', 'ASC', 'COUNT', limit) as Promise<string[]>;
  for (let i = 0; i < 500; i++) await search(queries[i % queries.length]!); // warm-up
  const redisLatencies: number[] = [];
  let agreeing = 0;
  for (const [i, point] of queries.entries()) {
    const t0 = performance.now();
    const found = await search(point);
    redisLatencies.push(performance.now() - t0);
    // Redis's geohash distances differ from haversine by a hair: count a query as agreeing when sizes match.
    if (Math.abs(found.length - indexFound[i]!) <= 1) agreeing++;
  }

  indexLatencies.sort((a, b) => a - b);
  redisLatencies.sort((a, b) => a - b);
  const meanFound = indexFound.reduce((a, b) => a + b, 0) / indexFound.length;
  const results = {
    drivers: driverCount,
    queries: queryCount,
    radiusKm,
    limit,
    areaKm,
    meanCandidatesFound: round(meanFound, 1),
    index: { buildMs: round(buildMs, 1), p50Ms: round(percentile(indexLatencies, 50), 4), p99Ms: round(percentile(indexLatencies, 99), 4) },
    redisGeosearch: { p50Ms: round(percentile(redisLatencies, 50), 4), p99Ms: round(percentile(redisLatencies, 99), 4) },
    /** Redis latency over the index's: above 1, the in-memory index is that many times faster. */
    ratio: {
      p50: round(percentile(redisLatencies, 50) / percentile(indexLatencies, 50), 2),
      p99: round(percentile(redisLatencies, 99) / percentile(indexLatencies, 99), 2),
    },
    resultCountsAgree: `${agreeing}/${queryCount}`,
    measuredAt: new Date().toISOString(),
  };
  console.log(JSON.stringify(results, null, 2));
  console.log(`wrote ${writeResults('geo', results)}`);
} finally {
  client.close();
  redis.kill('SIGTERM');
}
