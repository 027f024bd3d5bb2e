/**
 * Detection and start. Every region P is watched by up to three other regions (watchers.ts). In
 * each watcher O, a watch function probes P every 10 s (lambda/shared/failover/watch.ts),
 * publishes EndpointHealthy and CheckersHealthy, casts O's vote about P into P's cell lock table
 * (strongly consistent, outside the pair) and publishes how many watchers' fresh votes say P is
 * down (WatchersDown, counted from that store). The signal alarms on O's own view only warn; the
 * majority alarm (WatchersDown ≥ a majority of P's watchers) drives the composite region-down
 * alarm, which pages O's critical topic. So nobody is paged "region down" and nothing starts
 * unless a majority of independent observers sees P down: a watcher that cannot see out, or is
 * cut off from P alone, is one vote. In the region that would take over from P, an EventBridge
 * rule on the composite's change to ALARM runs the trigger (lambda/shared/failover/trigger.ts):
 * start the runbook (auto, damped) or page the ready command (approve). The runbook's own
 * Verify counts the same votes again.
 */
import { Aws, Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  DEFAULT_MIN_MINUTES_BETWEEN_STARTS,
  DEFAULT_START,
  type StartMode,
} from '../../lambda/shared/failover/start';
import type { VoteStore } from '../../lambda/shared/failover/votes';
import { quorumOf, VOTE } from '../../lambda/shared/failover/votes';
import {
  DETECTION,
  LONGEST_RUN_MS,
  WATCH_METRICS,
  WATCH_NAMESPACE,
} from '../../lambda/shared/failover/watch';
import { acknowledge, PACKS } from '../compliance/nag';
import type { MeridianConfig } from '../config/load';
import type { FunctionDefaults } from '../functions/function-defaults';
import { MeridianFunction } from '../functions/meridian-function';
import { Naming } from '../naming';
import type { RegionalAlerts } from '../observability/regional-alerts';
import { cellLockPlan } from '../regional/derivations';
import { lockEndpointsFor } from './lock-plan';
import { accountOf, failoverInput, runnerRegion, startExecutionCommand } from './runner';
import { watchedBy, watchersOf } from './watchers';

/** The signals of the region-down alarm (Naming.criticalAlarm(P, signal)). */
export const WATCH_SIGNALS = {
  endpoint: 'endpoint',
  checkers: 'checkers',
  watchers: 'watchers',
} as const;

/** Minutes without any endpoint datapoint before the watch of a region is reported silent. */
const SILENT_MINUTES = 5;
/** CloudWatch's limit on an alarm description. */
const DESCRIPTION_LIMIT = 1024;

/** A region watched from this one. */
export interface WatchedRegion {
  readonly region: string;
  /** `https://<region>.<zone><healthPath>`. */
  readonly healthUrl: string;
  /**
   * The region whose runbook handles its failure (the one that would take over; itself when it is
   * alone in its cell). When it is this region, its trigger starts (or pages) the runbook here.
   */
  readonly runner: string;
  /**
   * The command that starts the runbook for it, in the region that would take over.
   * @default - none: the region is alone in its cell, there is nothing to fail over to
   */
  readonly startCommand?: string;
  /** Where the votes about it are kept and who casts them. */
  readonly votes: {
    /** Its cell's lock table and the endpoints this region calls. */
    readonly store: VoteStore;
    /** The account of the lock table (its home region's stack). */
    readonly account: string;
    /** Its watchers (this region among them). */
    readonly watchers: readonly string[];
  };
}

/** What a region watches, from regions/ alone (no construct). */
export interface RegionWatchPlan {
  /** The region the watch runs in (O). */
  readonly region: string;
  /** O's jurisdiction: its trigger starts O's runbook, for the regions of this cell it takes over from. */
  readonly cell: string;
  /** O's own health URL: the watch's control probe. */
  readonly controlUrl: string;
  /** Every P that O watches (watchers.ts), sorted. Empty: O watches no one. */
  readonly watched: readonly WatchedRegion[];
  readonly start: StartMode;
  readonly minMinutesBetweenStarts: number;
}

export function regionWatchPlan(config: MeridianConfig, region: string): RegionWatchPlan {
  const own = config.regions.find((r) => r.id === region);
  if (!own) throw new Error(`regionWatchPlan: ${region} is not a region of regions/`);
  const { zoneName } = config.global.dns;
  const { healthPath } = config.global.routing;
  const url = (r: string) => `https://${r}.${zoneName}${healthPath}`;
  const failover = config.global.jurisdictions[own.jurisdiction]?.failover;
  const naming = new Naming(config.global.platform, config.env);
  return {
    region,
    cell: own.jurisdiction,
    controlUrl: url(region),
    watched: watchedBy(config, region).map((p): WatchedRegion => {
      const runner = runnerRegion(config, p);
      const cell = config.regions.find((r) => r.id === p)?.jurisdiction ?? '';
      const lock = cellLockPlan(config, cell);
      return {
        region: p,
        healthUrl: url(p),
        runner,
        ...(runner !== p
          ? {
              startCommand: startExecutionCommand(
                config,
                failoverInput(config, p, 'auto', `region-down alarm ${naming.regionDownAlarm(p)}`),
                'shell',
              ),
            }
          : {}),
        votes: {
          store: {
            table: naming.failoverLockTable(cell),
            endpoints: lockEndpointsFor(lock, region),
          },
          account: accountOf(config, lock.home),
          watchers: watchersOf(config, p),
        },
      };
    }),
    start: failover?.start ?? DEFAULT_START,
    minMinutesBetweenStarts:
      failover?.minMinutesBetweenStarts ?? DEFAULT_MIN_MINUTES_BETWEEN_STARTS,
  };
}

/**
 * The region-down rule about `region`: the majority alarm in ALARM, i.e. a majority of its
 * watchers' fresh votes, read from the strongly consistent store, say it is down. Its name may be
 * used instead of an ARN, quoted
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html).
 */
export function regionDownRule(naming: Naming, region: string): string {
  return `ALARM("${naming.criticalAlarm(region, WATCH_SIGNALS.watchers)}")`;
}

export interface RegionWatchProps {
  /** The region the watch runs in (O). */
  readonly region: string;
  /** O's jurisdiction (the cell whose runbook it starts). */
  readonly cell: string;
  /** O's own health URL, probed as a control (see WatchConfig.controlUrl). */
  readonly controlUrl: string;
  /** The regions O watches; at least one. */
  readonly watched: readonly WatchedRegion[];
  /** The cell's `failover.start`. @default 'approve' */
  readonly start?: StartMode;
  /** The cell's `failover.minMinutesBetweenStarts`. @default 30 */
  readonly minMinutesBetweenStarts?: number;
  /** Every alarm name comes from it. */
  readonly naming: Naming;
  /** O's failover runbook: the one state machine the trigger may list and start. */
  readonly runbook: sfn.IStateMachine;
  /** O's topics: critical pages (the region-down alarm, approve); warning for the signals; info. */
  readonly alerts: Pick<RegionalAlerts, 'topics' | 'route'>;
  /** VPC, regional key, retention, memory, concurrency (the stack's function defaults). */
  readonly functions: FunctionDefaults;
}

/** The alarms about one watched region. */
export interface RegionAlarms {
  readonly endpoint: cloudwatch.Alarm;
  readonly checkers: cloudwatch.Alarm;
  /** A majority of the region's watchers say it is down (drives regionDown). */
  readonly watchers: cloudwatch.Alarm;
  readonly silent: cloudwatch.Alarm;
  readonly regionDown: cloudwatch.CompositeAlarm;
}

/** See the module comment. */
export class RegionWatch extends Construct {
  readonly watch: MeridianFunction;
  /** Present when this region takes over from a watched region (starts or pages its runbook). */
  readonly trigger?: MeridianFunction;
  /** By watched region. */
  readonly alarms: Readonly<Record<string, RegionAlarms>>;
  readonly schedule: events.Rule;
  readonly onRegionDown?: events.Rule;

  constructor(scope: Construct, id: string, props: RegionWatchProps) {
    super(scope, id);
    const { naming, alerts } = props;
    if (props.watched.length === 0)
      throw new Error(`RegionWatch ${props.region}: no region to watch`);
    const start = props.start ?? DEFAULT_START;
    const minMinutes = props.minMinutesBetweenStarts ?? DEFAULT_MIN_MINUTES_BETWEEN_STARTS;
    const list = props.watched.map((w) => w.region).join(', ');

    this.watch = new MeridianFunction(this, 'Watch', {
      handler: 'failover-watch',
      description: `Region watch: probes ${list} every ${DETECTION.probeSeconds} s (endpoint, Route 53 checkers) for the region-down alarms`,
      ...props.functions,
      // Six rounds 10 s apart, the last one bounded by its probe timeout: under a minute.
      timeoutSeconds: Math.ceil(LONGEST_RUN_MS / 1000) + 5,
      environment: {
        MERIDIAN_REGION: props.region,
        MERIDIAN_CONTROL_URL: props.controlUrl,
        MERIDIAN_WATCHED: JSON.stringify(
          Object.fromEntries(props.watched.map((w) => [w.region, w.healthUrl])),
        ),
        MERIDIAN_VOTES: JSON.stringify(
          Object.fromEntries(
            props.watched.map((w) => [w.region, { ...w.votes.store, watchers: w.votes.watchers }]),
          ),
        ),
      },
      requiredEnvironment: [
        'MERIDIAN_REGION',
        'MERIDIAN_CONTROL_URL',
        'MERIDIAN_WATCHED',
        'MERIDIAN_VOTES',
      ],
    });
    this.schedule = new events.Rule(this, 'Schedule', {
      description: `Runs the region watch of ${list} every minute`,
      schedule: events.Schedule.rate(Duration.minutes(1)),
      // A late run would publish for the wrong minute; the next one is a minute away.
      targets: [
        new targets.LambdaFunction(this.watch.function, {
          retryAttempts: 0,
          maxEventAge: Duration.minutes(1),
        }),
      ],
    });

    const alarms: Record<string, RegionAlarms> = {};
    for (const w of props.watched) alarms[w.region] = this.alarmsAbout(w, props, start);
    this.alarms = alarms;

    // Only for the regions this one takes over from: the runbook it starts runs here.
    const takeover = props.watched.filter((w) => w.runner === props.region);
    const takeoverList = takeover.map((w) => w.region).join(', ');
    if (takeover.length > 0) {
      const trigger = new MeridianFunction(this, 'Trigger', {
        handler: 'failover-trigger',
        description: `Failover trigger: on a region-down alarm of ${takeoverList}, ${start === 'auto' ? 'starts the runbook (damped)' : 'pages the start command'}`,
        ...props.functions,
        timeoutSeconds: 30,
        environment: {
          MERIDIAN_REGION: props.region,
          MERIDIAN_CELL: props.cell,
          MERIDIAN_START: start,
          MERIDIAN_MIN_MINUTES_BETWEEN_STARTS: String(minMinutes),
          MERIDIAN_STATE_MACHINE_ARN: props.runbook.stateMachineArn,
          MERIDIAN_CRITICAL_TOPIC_ARN: alerts.topics.critical.topicArn,
          MERIDIAN_INFO_TOPIC_ARN: alerts.topics.info.topicArn,
          MERIDIAN_ALARMS: JSON.stringify(
            Object.fromEntries(takeover.map((w) => [naming.regionDownAlarm(w.region), w.region])),
          ),
        },
        requiredEnvironment: [
          'MERIDIAN_REGION',
          'MERIDIAN_CELL',
          'MERIDIAN_START',
          'MERIDIAN_MIN_MINUTES_BETWEEN_STARTS',
          'MERIDIAN_STATE_MACHINE_ARN',
          'MERIDIAN_CRITICAL_TOPIC_ARN',
          'MERIDIAN_INFO_TOPIC_ARN',
          'MERIDIAN_ALARMS',
        ],
      });
      // The event CloudWatch sends when an alarm (composite alarms too) changes state:
      // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html
      this.onRegionDown = new events.Rule(this, 'OnRegionDown', {
        description: `Runs the failover trigger when a region-down alarm of ${takeoverList} goes to ALARM`,
        eventPattern: {
          source: ['aws.cloudwatch'],
          detailType: ['CloudWatch Alarm State Change'],
          detail: {
            alarmName: takeover.map((w) => naming.regionDownAlarm(w.region)),
            state: { value: ['ALARM'] },
          },
        },
        // A start decided minutes late is still worth making (damped, verified again); not hours.
        targets: [
          new targets.LambdaFunction(trigger.function, {
            retryAttempts: 2,
            maxEventAge: Duration.minutes(15),
          }),
        ],
      });
      this.trigger = trigger;
      this.grantTrigger(props, trigger);
    }
    this.grantWatch(props);
  }

  private alarmsAbout(w: WatchedRegion, props: RegionWatchProps, start: StartMode): RegionAlarms {
    const { naming, alerts } = props;
    const scope = new Construct(this, w.region);
    const p = w.region;
    const metric = (name: string, statistic: string, period: Duration) =>
      new cloudwatch.Metric({
        namespace: WATCH_NAMESPACE,
        metricName: name,
        dimensionsMap: { Region: p },
        statistic,
        period,
      });
    const probe = Duration.seconds(DETECTION.probeSeconds);
    // A period of 10 s needs a high-resolution metric (StorageResolution 1, as the watch
    // publishes); missing data stays missing, so a silent watch never raises the signal, and all
    // datapoints missing makes the alarm INSUFFICIENT_DATA:
    // https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
    // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html
    // Maximum: a period breaches only when no probe in it saw the region healthy.
    const signal = (signalName: string, metricName: string, threshold: number, what: string) =>
      alerts.route(
        new cloudwatch.Alarm(
          scope,
          signalName === WATCH_SIGNALS.endpoint ? 'Endpoint' : 'Checkers',
          {
            alarmName: naming.criticalAlarm(p, signalName),
            alarmDescription: `${what} for ${DETECTION.datapoints} × ${DETECTION.probeSeconds} s, seen from ${props.region}. A signal of ${naming.regionDownAlarm(p)} (which pages); the runbook's Verify counts it.`,
            metric: metric(metricName, 'Maximum', probe),
            threshold,
            comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluationPeriods: DETECTION.datapoints,
            datapointsToAlarm: DETECTION.datapoints,
            treatMissingData: cloudwatch.TreatMissingData.MISSING,
          },
        ),
        // The composite pages; a signal alone (a path problem, Route 53 noise) only warns.
        'warning',
      );
    const endpoint = signal(
      WATCH_SIGNALS.endpoint,
      WATCH_METRICS.endpoint,
      DETECTION.endpointHealthyBelow,
      `${p}'s health endpoint failed every probe`,
    );
    const checkers = signal(
      WATCH_SIGNALS.checkers,
      WATCH_METRICS.checkers,
      DETECTION.checkersHealthyBelow,
      `Fewer than ${DETECTION.checkersHealthyBelow * 100} % of Route 53's checkers saw ${p} healthy`,
    );
    const silent = alerts.route(
      new cloudwatch.Alarm(scope, 'Silent', {
        alarmName: naming.watchSilentAlarm(p),
        alarmDescription: `The watch in ${props.region} published no endpoint datapoint about ${p} for ${SILENT_MINUTES} min (its function fails, or ${props.region} cannot see out): ${naming.regionDownAlarm(p)} cannot fire. See the failover-watch log in ${props.region}.`,
        metric: metric(WATCH_METRICS.endpoint, 'SampleCount', Duration.minutes(1)),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: SILENT_MINUTES,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
      'warning',
    );
    const quorum = quorumOf(w.votes.watchers.length);
    const watchers = alerts.route(
      new cloudwatch.Alarm(scope, 'Watchers', {
        alarmName: naming.criticalAlarm(p, WATCH_SIGNALS.watchers),
        alarmDescription: `A majority of ${p}'s watchers (${quorum} of ${w.votes.watchers.join(', ')}) have each seen it down for ${VOTE.streak} rounds in a row, counted from their votes in ${w.votes.store.table} by the watch in ${props.region}. Drives ${naming.regionDownAlarm(p)} (which pages).`,
        metric: metric(WATCH_METRICS.watchersDown, 'Maximum', probe),
        threshold: quorum,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        // No count (the store out of reach): no majority. A region is never judged down by default.
        treatMissingData: cloudwatch.TreatMissingData.MISSING,
      }),
      'warning',
    );
    const what = `${p} is down for a majority of its watchers (${quorum} of ${w.votes.watchers.length}: ${w.votes.watchers.join(', ')}), as counted in ${props.region}.`;
    const action = !w.startCommand
      ? `${p} is alone in its cell: there is no region to fail over to. Restore it, or follow the runbook for a lost region.`
      : w.runner === props.region
        ? start === 'auto'
          ? `Cell ${props.cell} has failover.start: auto: the trigger starts the runbook in ${props.region} (damped); if it did not, run:`
          : `Cell ${props.cell} has failover.start: approve: to start the runbook in ${props.region} (it verifies the failure again), run:`
        : `The runbook runs in ${w.runner}; its own page says whether it started. To start it by hand:`;
    const description = [what, action, ...(w.startCommand ? [w.startCommand] : [])].join(' ');
    if (description.length > DESCRIPTION_LIMIT)
      throw new Error(
        `RegionWatch ${p}: the region-down description is ${description.length} characters; CloudWatch allows ${DESCRIPTION_LIMIT}`,
      );
    const regionDown = new cloudwatch.CompositeAlarm(scope, 'RegionDown', {
      compositeAlarmName: naming.regionDownAlarm(p),
      alarmDescription: description,
      // By name (the rule reads as the alarms are named), so CloudFormation is told the order.
      alarmRule: cloudwatch.AlarmRule.fromString(regionDownRule(naming, p)),
    });
    regionDown.node.addDependency(watchers);
    const page = new actions.SnsAction(alerts.topics.critical);
    regionDown.addAlarmAction(page);
    regionDown.addOkAction(page);
    return { endpoint, checkers, watchers, silent, regionDown };
  }

  private grantWatch(props: RegionWatchProps): void {
    const p = Aws.PARTITION;
    const healthChecks = `arn:${p}:route53:::healthcheck/*`;
    this.watch.allow('FindHealthChecks', ['route53:ListHealthChecks'], ['*']);
    this.watch.allow(
      'ReadHealthChecks',
      ['route53:ListTagsForResources', 'route53:GetHealthCheckStatus'],
      [healthChecks],
    );
    this.watch.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'PublishWatchMetrics',
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': WATCH_NAMESPACE } },
      }),
    );
    acknowledge(this.watch.role, [
      {
        pack: PACKS.aws,
        rule: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'route53:ListHealthChecks and cloudwatch:PutMetricData have no resource-level permissions; PutMetricData is held to the Meridian/Watch namespace by condition.',
      },
      {
        pack: PACKS.aws,
        rule: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:route53:::healthcheck/*]`,
        reason:
          'The watched regions’ health checks live in their own stacks; their ids are unknown here, so the watch reads (tags, status) any health check and finds its own by the meridian:region tag.',
      },
    ]);
    // Votes: each watched region's cell lock table, at the endpoints this region calls.
    const voteTables = [
      ...new Set(
        props.watched.flatMap((w) =>
          w.votes.store.endpoints.map(
            (e) => `arn:${p}:dynamodb:${e}:${w.votes.account}:table/${w.votes.store.table}`,
          ),
        ),
      ),
    ].sort();
    this.watch.allow('Votes', ['dynamodb:GetItem', 'dynamodb:UpdateItem'], voteTables);
  }

  private grantTrigger(props: RegionWatchProps, trigger: MeridianFunction): void {
    const { topics } = props.alerts;
    trigger.allow(
      'StartRunbook',
      ['states:ListExecutions', 'states:StartExecution'],
      [props.runbook.stateMachineArn],
    );
    trigger.allow(
      'PublishAlerts',
      ['sns:Publish'],
      [topics.critical.topicArn, topics.info.topicArn],
    );
    const keys = [...new Set([topics.critical, topics.info].map((t) => t.masterKey?.keyArn))];
    const keyArns = keys.filter((k): k is string => k !== undefined);
    if (keyArns.length > 0)
      trigger.allow('EncryptAlerts', ['kms:GenerateDataKey', 'kms:Decrypt'], keyArns);
  }
}
