export { AvailableDriversIndex, type NearbyDriver } from './available-drivers.ts';
export { selectDriver, type DriverAcceptance } from './selection.ts';
