export * from './decider.ts';
export * from './errors.ts';
export * from './validation.ts';
export * from './passenger/index.ts';
export * from './aggregates.ts';
