import type { MeridianFunctionProps } from './meridian-function';

/**
 * What every function of one regional stack shares: its VPC, its key, log retention, memory,
 * reserved concurrency and bundling. Built once per stack (`RegionalStack`) and spread into each
 * function's props: `new MeridianFunction(this, 'Check', { ...functions, handler, … })`.
 */
export type FunctionDefaults = Pick<
  MeridianFunctionProps,
  'vpc' | 'key' | 'logRetentionDays' | 'memoryMb' | 'reservedConcurrency' | 'bundling'
>;
