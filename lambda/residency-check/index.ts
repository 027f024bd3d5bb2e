/**
 * residency-check: answers, for a batch of records, whether each may go to a target region and in
 * which form, from the residency plan synth put in the `meridian` layer. Thin: the logic is in
 * ./check.ts and ../shared/residency-plan.ts.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { DEFAULT_PLAN_FILE, loadResidencyIndex } from '../shared/residency-plan-file';
import { type CheckResponse, checkRecords, parseCheckRequest } from './check';

const logger = new Logger({ serviceName: 'residency-check' });
// Read once per container; a missing or corrupt plan fails the cold start with a clear message.
const index = loadResidencyIndex(process.env.MERIDIAN_RESIDENCY_PLAN_FILE ?? DEFAULT_PLAN_FILE);

export const handler = async (event: unknown): Promise<CheckResponse> => {
  const request = parseCheckRequest(event);
  const response = checkRecords(index, request);
  logger.info('residency check', {
    from: request.from,
    to: response.to,
    allowed: response.allowed,
    denied: response.denied,
  });
  return response;
};
