export * from './aggregate-view.ts';
export * from './projector.ts';
export * from './passengers/passenger-view.ts';
