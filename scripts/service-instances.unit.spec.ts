import { describe, expect, it } from 'vitest';
import { allServices, serviceInstances } from './system.ts';

describe("the launcher's service instances", () => {
  it('given no replicas, then each service runs once under its own name', () => {
    const instances = serviceInstances(allServices);
    expect(instances.map((instance) => instance.name)).toEqual(allServices.map((service) => service.name));
    expect(instances.every((instance) => instance.name === instance.service)).toBe(true);
  });

  it('given two gateways and three saga workers, then the extra ones are named <service>-<n> and run the same service', () => {
    const instances = serviceInstances(allServices, { gateway: 2, 'saga-worker': 3 });
    expect(instances.filter((instance) => instance.service === 'gateway').map((instance) => instance.name)).toEqual(['gateway', 'gateway-2']);
    expect(instances.filter((instance) => instance.service === 'saga-worker').map((instance) => instance.name)).toEqual(['saga-worker', 'saga-worker-2', 'saga-worker-3']);
  });

  it('given an unknown service or a count out of range, then it says which', () => {
    expect(() => serviceInstances(allServices, { gatway: 2 })).toThrow(/no service named gatway/);
    expect(() => serviceInstances(allServices, { gateway: 0 })).toThrow(/gateway must be 1 to 16/);
  });
});
