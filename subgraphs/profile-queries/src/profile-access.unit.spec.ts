import { describe, expect, it } from 'vitest';
import { offerLetsDriverSee } from './resolvers.ts';

const now = new Date('2026-11-25T12:00:00.000Z');
const later = '2026-11-25T12:00:30.000Z';
const earlier = '2026-11-25T11:59:30.000Z';

describe("a driver's offers and the passenger's profile", () => {
  it('given an OPEN offer not yet expired, then the driver may see the passenger', () => {
    expect(offerLetsDriverSee([{ status: 'OPEN', expiresAt: later }], now)).toBe(true);
  });

  it('given an offer that went to the driver (ASSIGNED), then they may', () => {
    expect(offerLetsDriverSee([{ status: 'ASSIGNED', expiresAt: earlier }], now)).toBe(true);
  });

  it.each([['EXPIRED'], ['TAKEN'], ['CANCELLED']])('given only a %s offer, then they may not: an offer once made gives nothing', (status) => {
    expect(offerLetsDriverSee([{ status, expiresAt: later }], now)).toBe(false);
  });

  it('given an OPEN offer past its expiry (not closed yet), then they may not', () => {
    expect(offerLetsDriverSee([{ status: 'OPEN', expiresAt: earlier }], now)).toBe(false);
  });

  it('given no offer, then they may not', () => {
    expect(offerLetsDriverSee([], now)).toBe(false);
  });
});
