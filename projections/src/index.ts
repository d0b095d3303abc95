export * from './aggregate-view.ts';
export * from './projector.ts';
export * from './passengers/passenger-view.ts';
export * from './drivers/driver-view.ts';
export * from './trips/trip-history.ts';
export * from './trips/trip-history-plan.ts';
export * from './trips/trip-history-projector.ts';
