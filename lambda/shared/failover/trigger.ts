/**
 * The failover trigger: what happens when a region-down alarm (lib/failover/region-watch.ts)
 * goes to ALARM in the region that would take over. Per cell (`failover.start` in
 * regions/global.yaml): `auto` starts the runbook, unless an automatic start for the same region
 * happened within `failover.minMinutesBetweenStarts` (damping, like the minimum time between
 * executions of ARC Region switch triggers); `approve` pages the ready start command. Either way
 * the runbook verifies the failure again with its own quorum before it acts. The handler
 * (lambda/failover-trigger) only wires clients.
 */
import { ListExecutionsCommand, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { ARN, EnvReader, REGION_ID } from '../env';
import { executionName, START_MODES, type StartMode, startCommand } from './start';
import type { RunbookInput } from './steps';

export interface TriggerConfig {
  /** The region the trigger (and the runbook it starts) runs in. */
  readonly region: string;
  readonly cell: string;
  readonly start: StartMode;
  readonly minMinutesBetweenStarts: number;
  /** The runbook of this region (Naming.runbook). */
  readonly stateMachineArn: string;
  /** This region's alert topics: critical pages, info is for the record. */
  readonly topics: { readonly critical: string; readonly info: string };
  /** Region-down alarm name → the region it says is down. */
  readonly alarms: Readonly<Record<string, string>>;
}

export interface TriggerClients {
  readonly sfn: SFNClient;
  readonly sns: SNSClient;
  now(): number;
}

/**
 * The EventBridge event "CloudWatch Alarm State Change" (source aws.cloudwatch), as far as it is
 * read here; composite alarms send the same shape
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html).
 * `state.timestamp` reads like `2019-10-02T17:04:40.985+0000`.
 */
export interface AlarmStateChange {
  readonly 'detail-type'?: string;
  readonly time?: string;
  readonly detail?: {
    readonly alarmName?: string;
    readonly state?: {
      readonly value?: string;
      readonly reason?: string;
      readonly timestamp?: string;
    };
  };
}

export type TriggerOutcome =
  | { readonly action: 'ignored'; readonly reason: string }
  | {
      readonly action: 'started';
      readonly execution: string;
      readonly executionArn: string;
      readonly input: RunbookInput;
    }
  | { readonly action: 'already-started'; readonly execution: string }
  | { readonly action: 'damped'; readonly previous: string; readonly reason: string }
  | { readonly action: 'approval-requested'; readonly command: string }
  | { readonly action: 'start-failed'; readonly error: string; readonly command: string };

/** Epoch ms of the alarm's state change (`detail.state.timestamp`, else the event's `time`). */
export function stateChangeTime(event: AlarmStateChange): number | undefined {
  for (const text of [event.detail?.state?.timestamp, event.time]) {
    // `+0000` → `+00:00`: the offset form Date.parse is specified to read.
    const t = text ? Date.parse(text.replace(/([+-]\d\d)(\d\d)$/, '$1:$2')) : Number.NaN;
    if (Number.isFinite(t)) return t;
  }
  return undefined;
}

/** The newest execution named `auto-<region>-…` started at or after `since`, if any. */
async function recentAutoStart(
  sfn: SFNClient,
  stateMachineArn: string,
  region: string,
  since: number,
): Promise<{ name: string; startedAt: number } | undefined> {
  const prefix = `auto-${region}-`;
  let nextToken: string | undefined;
  do {
    // "Results are sorted by time, with the most recent execution first" (eventually consistent):
    // https://docs.aws.amazon.com/step-functions/latest/apireference/API_ListExecutions.html
    // so stop at the first execution older than `since`.
    const page = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn, maxResults: 100, nextToken }),
    );
    const executions = page.executions ?? [];
    for (const e of executions) {
      const startedAt = e.startDate?.getTime() ?? 0;
      if (startedAt < since) return undefined;
      if (e.name?.startsWith(prefix)) return { name: e.name, startedAt };
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return undefined;
}

/** Reacts to a region-down alarm's state change (see the module comment). */
export async function onRegionDown(
  c: TriggerConfig,
  k: TriggerClients,
  event: AlarmStateChange,
): Promise<TriggerOutcome> {
  const alarm = event.detail?.alarmName ?? '';
  const failed = Object.hasOwn(c.alarms, alarm) ? c.alarms[alarm] : undefined;
  if (!failed)
    return {
      action: 'ignored',
      reason: `${alarm || 'no alarm'} is no region-down alarm of ${c.region}`,
    };
  const state = event.detail?.state?.value;
  if (state !== 'ALARM')
    return { action: 'ignored', reason: `${alarm} went to ${state}, not ALARM` };

  const detectedAt = stateChangeTime(event) ?? k.now();
  const at = new Date(detectedAt);
  const input: RunbookInput = {
    cell: c.cell,
    failedRegion: failed,
    mode: 'auto',
    detectedAt,
    reason: `region-down alarm ${alarm}`,
  };
  const manual = startCommand(
    c.region,
    c.stateMachineArn,
    executionName('failover', failed, at),
    input,
  );
  const seen = `The region-down alarm ${alarm} went to ALARM at ${at.toISOString()}: ${failed} looks down from ${c.region} (its health endpoint fails, and Route 53's checkers do not say it is up).`;
  const publish = (topic: string, subject: string, lines: string[]) =>
    k.sns.send(
      new PublishCommand({ TopicArn: topic, Subject: subject, Message: lines.join('\n') }),
    );

  if (c.start === 'approve') {
    await publish(c.topics.critical, `Meridian: ${failed} is down - approve its failover`, [
      seen,
      `Cell ${c.cell} has failover.start: approve, so nothing was started. To start the runbook in ${c.region} (it verifies the failure again before it acts), run:`,
      manual,
    ]);
    return { action: 'approval-requested', command: manual };
  }

  const execution = executionName('auto', failed, at);
  const windowMs = c.minMinutesBetweenStarts * 60_000;
  try {
    const recent = await recentAutoStart(k.sfn, c.stateMachineArn, failed, k.now() - windowMs);
    // The same alarm transition delivered again (EventBridge or Lambda retried): already done.
    if (recent?.name === execution) return { action: 'already-started', execution };
    if (recent) {
      const minutes = ((k.now() - recent.startedAt) / 60_000).toFixed(1);
      const reason = `${recent.name} started ${minutes} min ago, within failover.minMinutesBetweenStarts (${c.minMinutesBetweenStarts} min) of cell ${c.cell}`;
      await publish(c.topics.info, `Meridian: ${failed} down again - no runbook started (damped)`, [
        seen,
        `Nothing was started: ${reason}. Its outcome is in its execution history and its report in the audit bucket under failover/. To start another anyway, run:`,
        manual,
      ]);
      return { action: 'damped', previous: recent.name, reason };
    }
    const out = await k.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: c.stateMachineArn,
        name: execution,
        input: JSON.stringify(input),
      }),
    );
    await publish(c.topics.info, `Meridian: failover runbook started for ${failed}`, [
      seen,
      `Cell ${c.cell} has failover.start: auto: started ${out.executionArn ?? execution}. It verifies the failure with its own quorum before it acts.`,
    ]);
    return { action: 'started', execution, executionArn: out.executionArn ?? '', input };
  } catch (err) {
    const error = `${(err as Error).name}: ${(err as Error).message}`;
    await publish(
      c.topics.critical,
      `Meridian: ${failed} is down - automatic failover start FAILED`,
      [seen, `Starting the runbook in ${c.region} failed (${error}). Start it by hand:`, manual],
    );
    return { action: 'start-failed', error, command: manual };
  }
}

/** The trigger's configuration from its environment, every problem reported at once. */
export function readTriggerConfig(
  env: Readonly<Record<string, string | undefined>>,
): TriggerConfig {
  const r = new EnvReader(env);
  const config: TriggerConfig = {
    region: r.string('MERIDIAN_REGION', REGION_ID, 'an AWS region id'),
    cell: r.string('MERIDIAN_CELL', /^[a-z][a-z0-9-]{0,30}$/, 'a jurisdiction id'),
    start: r.string(
      'MERIDIAN_START',
      new RegExp(`^(${START_MODES.join('|')})$`),
      START_MODES.join(' or '),
    ) as StartMode,
    minMinutesBetweenStarts: r.int('MERIDIAN_MIN_MINUTES_BETWEEN_STARTS', 1, 1440),
    stateMachineArn: r.string('MERIDIAN_STATE_MACHINE_ARN', ARN, 'a state machine ARN'),
    topics: {
      critical: r.string('MERIDIAN_CRITICAL_TOPIC_ARN', ARN, 'an SNS topic ARN'),
      info: r.string('MERIDIAN_INFO_TOPIC_ARN', ARN, 'an SNS topic ARN'),
    },
    alarms: r.map('MERIDIAN_ALARMS', REGION_ID, 'alarm name → AWS region id'),
  };
  r.check('failover-trigger');
  return config;
}
