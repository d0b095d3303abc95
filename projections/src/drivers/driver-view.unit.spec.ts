import type { DriverEvent } from '@happyride/domain';
import type { EventEnvelope } from '@happyride/eventstore';
import { describe, expect, it } from 'vitest';
import { evolveDriverView } from './driver-view.ts';

const envelope = (event: DriverEvent, version: number, occurredAt: string) =>
  ({
    ...event,
    eventId: `e${version}`,
    aggregateType: 'driver',
    aggregateId: 'd1',
    version,
    occurredAt,
    commandId: `c${version}`,
    correlationId: 'x',
    causationId: `c${version}`,
    schemaVersion: 1,
  }) as EventEnvelope<'driver'>;

const fold = (events: EventEnvelope<'driver'>[]) => events.reduce(evolveDriverView, null);
const registered = envelope({ type: 'DriverRegistered', data: { driverId: 'd1', name: 'Ayrton', vehicle: { plate: 'AB-123', model: 'Prius' } } }, 1, 't1');

describe('driver view', () => {
  it('given a registration, then the profile has the name and vehicle and is offline', () => {
    expect(fold([registered])).toEqual({
      name: 'Ayrton',
      vehicle: { plate: 'AB-123', model: 'Prius' },
      online: false,
      registeredAt: 't1',
      updatedAt: 't1',
    });
  });

  it('given a registration and new details, then the profile shows the new name and vehicle', () => {
    expect(
      fold([registered, envelope({ type: 'DriverDetailsUpdated', data: { driverId: 'd1', name: 'Ayrton S.', vehicle: { plate: 'CD-456', model: 'Leaf' } } }, 2, 't2')]),
    ).toMatchObject({ name: 'Ayrton S.', vehicle: { plate: 'CD-456', model: 'Leaf' }, registeredAt: 't1', updatedAt: 't2' });
  });

  it('given going online then offline, then the driver is online after the first and offline after the second', () => {
    const online = envelope({ type: 'DriverWentOnline', data: { driverId: 'd1' } }, 2, 't2');
    expect(fold([registered, online])?.online).toBe(true);
    expect(fold([registered, online, envelope({ type: 'DriverWentOffline', data: { driverId: 'd1' } }, 3, 't3')])).toMatchObject({ online: false, updatedAt: 't3' });
  });

  it('given no registration, when the driver goes online, then there is no document', () => {
    expect(fold([envelope({ type: 'DriverWentOnline', data: { driverId: 'd1' } }, 1, 't1')])).toBeNull();
  });
});
