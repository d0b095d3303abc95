import { driverLocationStoreContract } from './driver-locations.contract.ts';
import { InMemoryDriverLocationStore } from './driver-locations.ts';

driverLocationStoreContract('in memory', () => new InMemoryDriverLocationStore());
