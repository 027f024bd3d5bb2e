/**
 * The writer keeper of one region (issue 25 item 3): in every region of a cell that has an Aurora
 * cluster, a function started every minute renews the region's writer lease in the cell's lock
 * table six times, 10 s apart, and fences or unfences the region's own database and health sign
 * as the answer asks (lambda/shared/failover/writer-keeper.ts). It runs in the region's VPC, so
 * it reaches its own cluster when nothing else does; it needs the lock table (any endpoint of the
 * cell's lock), the master secret of its region, and the sign parameter.
 */
import { Aws, Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { KEEPER_ROUND_BUDGET_MS, KEEPER_ROUNDS } from '../../lambda/shared/failover/writer-keeper';
import { WRITER_LEASE } from '../../lambda/shared/failover/writer-lease';
import type { AuroraGlobal } from '../data/aurora-global';
import type { FunctionDefaults } from '../functions/function-defaults';
import { MeridianFunction } from '../functions/meridian-function';

/** The ARN of an SSM parameter of this stack's region and account (`name` starts with `/`). */
export const parameterArn = (name: string) =>
  `arn:${Aws.PARTITION}:ssm:${Aws.REGION}:${Aws.ACCOUNT_ID}:parameter${name}`;

export interface WriterKeeperProps {
  readonly region: string;
  /** The cell (jurisdiction) whose writer lease this region renews or watches. */
  readonly cell: string;
  /** The cell's lock table (Naming.failoverLockTable). */
  readonly lockTable: string;
  /** The lock endpoints this region calls, own replica first (lock-plan.ts lockEndpointsFor). */
  readonly lockEndpoints: readonly string[];
  /** This region is the cell's writer in regions/: it creates the lease on the first round. */
  readonly initialWriter: boolean;
  /** This region's Aurora cluster (its own endpoint, its master secret). */
  readonly aurora: AuroraGlobal;
  /** The sign's parameter name (Naming.writerFenceParameter), which the health endpoint reads. */
  readonly signName: string;
  readonly functions: FunctionDefaults;
}

export class WriterKeeper extends Construct {
  readonly function: MeridianFunction;
  readonly sign: ssm.StringParameter;
  readonly schedule: events.Rule;

  constructor(scope: Construct, id: string, props: WriterKeeperProps) {
    super(scope, id);
    this.sign = new ssm.StringParameter(this, 'Sign', {
      parameterName: props.signName,
      stringValue: 'open',
      description: `Writer keeper's sign for ${props.region}: "fenced" while it has fenced its database (the health endpoint then answers 503)`,
    });
    const lastRound = (KEEPER_ROUNDS - 1) * WRITER_LEASE.renewSeconds * 1000;
    this.function = new MeridianFunction(this, 'Function', {
      handler: 'failover-writer-lease',
      description: `Writer keeper: renews ${props.region}'s writer lease of cell ${props.cell} every ${WRITER_LEASE.renewSeconds} s and fences its database when it cannot`,
      ...props.functions,
      timeoutSeconds: Math.ceil((lastRound + KEEPER_ROUND_BUDGET_MS) / 1000) + 5,
      environment: {
        MERIDIAN_REGION: props.region,
        MERIDIAN_CELL: props.cell,
        MERIDIAN_LOCK_TABLE: props.lockTable,
        MERIDIAN_LOCK_ENDPOINTS: props.lockEndpoints.join(','),
        MERIDIAN_WRITER_INITIAL: String(props.initialWriter),
        MERIDIAN_DB_HOST: props.aurora.cluster.clusterEndpoint.hostname,
        MERIDIAN_FENCE_PARAMETER: props.signName,
      },
      requiredEnvironment: [
        'MERIDIAN_REGION',
        'MERIDIAN_CELL',
        'MERIDIAN_LOCK_TABLE',
        'MERIDIAN_LOCK_ENDPOINTS',
        'MERIDIAN_DB_HOST',
        'MERIDIAN_FENCE_PARAMETER',
      ],
    });
    props.aurora.grantCredentials(this.function);
    this.function.allow(
      'WriterLease',
      ['dynamodb:UpdateItem', 'dynamodb:GetItem'],
      props.lockEndpoints.map(
        (r) => `arn:${Aws.PARTITION}:dynamodb:${r}:${Aws.ACCOUNT_ID}:table/${props.lockTable}`,
      ),
    );
    this.function.allow('WriteSign', ['ssm:PutParameter'], [parameterArn(props.signName)]);
    this.schedule = new events.Rule(this, 'Schedule', {
      description: `Runs ${props.region}'s writer keeper every minute`,
      schedule: events.Schedule.rate(Duration.minutes(1)),
      // A late run would overlap the next one; the next one is a minute away.
      targets: [
        new targets.LambdaFunction(this.function.function, {
          retryAttempts: 0,
          maxEventAge: Duration.minutes(1),
        }),
      ],
    });
  }
}
