import { ConfigError } from '@happyride/platform';
import { BlockList, isIP } from 'node:net';

/** The proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`). */
export interface TrustedProxies {
  has(address: string): boolean;
}

/** `::ffff:10.0.0.1` (IPv4 on a dual-stack socket) is `10.0.0.1`. */
const plain = (address: string) => (address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address);

/**
 * Parses `TRUSTED_PROXIES`: comma-separated IPs and CIDRs (`10.0.0.0/8, ::1, 192.168.1.7`);
 * empty (the default) trusts no proxy.
 */
export function parseTrustedProxies(raw: string | undefined, name = 'TRUSTED_PROXIES'): TrustedProxies {
  const list = new BlockList();
  let entries = 0;
  for (const entry of (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const [address = '', prefix, ...rest] = entry.split('/');
    const family = isIP(address);
    const bits = prefix === undefined ? undefined : Number(prefix);
    const max = family === 4 ? 32 : 128;
    if (!family || rest.length > 0 || (bits !== undefined && (!/^\d{1,3}$/.test(prefix!) || bits > max))) {
      throw new ConfigError(`${name} must be comma-separated IP addresses or CIDR ranges (e.g. 10.0.0.0/8, ::1); got ${JSON.stringify(entry)}.`);
    }
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(address, type);
    else list.addSubnet(address, bits, type);
    entries++;
  }
  return {
    has: (address) => {
      if (entries === 0) return false;
      const candidate = plain(address);
      const family = isIP(candidate);
      return family !== 0 && list.check(candidate, family === 4 ? 'ipv4' : 'ipv6');
    },
  };
}

/**
 * The client's address: the socket's peer, unless that peer is a trusted proxy; then
 * `X-Forwarded-For` is read from the right (each proxy appends the address it saw), skipping
 * trusted proxies, and the first address not trusted is the client. Anything a client wrote
 * to the left of that is never believed.
 * @example clientIp('10.0.0.2', '203.0.113.9, 10.0.0.1', parseTrustedProxies('10.0.0.0/8')) // → '203.0.113.9'
 */
export function clientIp(peer: string | undefined, forwardedFor: string | string[] | undefined, trusted: TrustedProxies): string {
  let client = plain(peer ?? 'unknown');
  if (!trusted.has(client) || !forwardedFor) return client;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',').map((s) => s.trim());
  for (let i = hops.length - 1; i >= 0 && trusted.has(client); i--) {
    const hop = plain(hops[i]!);
    if (!isIP(hop)) break;
    client = hop;
  }
  return client;
}
