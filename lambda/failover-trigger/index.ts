/**
 * failover-trigger: on a region-down alarm's change to ALARM (EventBridge rule), starts the
 * runbook of this region (cell `failover.start: auto`, damped) or pages the ready command
 * (`approve`). Thin: the logic is ../shared/failover/trigger.ts; configuration read and checked
 * once, at cold start.
 */
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { type AlarmStateChange, onRegionDown, readTriggerConfig } from '../shared/failover/trigger';
import { logs, traceClient, tracedHandler } from '../shared/powertools';

const config = readTriggerConfig(process.env);
const { logger, tracer } = logs('failover-trigger');
const clients = {
  sfn: traceClient(tracer, new SFNClient({ region: config.region, maxAttempts: 3 })),
  sns: traceClient(tracer, new SNSClient({ region: config.region, maxAttempts: 3 })),
  now: () => Date.now(),
};

export const handler = tracedHandler(tracer, async (event: AlarmStateChange) => {
  const outcome = await onRegionDown(config, clients, event);
  // Names and times only: the input carries no personal data, the alarm reason is not logged.
  const level = outcome.action === 'start-failed' ? 'error' : 'info';
  logger[level]('region-down alarm handled', { alarm: event.detail?.alarmName, ...outcome });
  return outcome;
});
