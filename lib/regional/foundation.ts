import type { Construct } from 'constructs';
import type { ResidencyPlan } from '../../lambda/shared/residency-plan';
import type { Settings } from '../config/schema';
import { RegionalBackup } from '../data/regional-backup';
import type { FunctionDefaults } from '../functions/function-defaults';
import { type BundlingMode, MeridianFunction } from '../functions/meridian-function';
import { ResidencyPlanLayer } from '../functions/residency-plan-layer';
import { RegionalNetwork } from '../network/regional-network';
import { RegionalAlerts, type RegionalAlertsProps } from '../observability/regional-alerts';
import { RegionalKey } from '../security/regional-key';

export interface RegionalFoundationProps {
  readonly region: string;
  readonly cidr: string;
  /** Alias of the regional key (`<platform>-<env>`, the same in every region). */
  readonly keyAlias: string;
  /** Prefix of the alert topics (`<platform>-<env>-<region>`). */
  readonly alertPrefix: string;
  /** @default - alerts go to SNS topics only */
  readonly chat?: RegionalAlertsProps['chat'];
  readonly plan: ResidencyPlan;
  readonly settings: Pick<Settings, 'network' | 'observability' | 'replication' | 'lambda'>;
  /** @default 'once' */
  readonly bundling?: BundlingMode;
}

/**
 * What every other part of a region uses: the customer key, the VPC, the alert topics, the
 * backup vault, the residency plan (layer, and the function that answers from it) and the
 * defaults of every function. Builds into `scope` itself (no construct of its own), so grouping
 * these here moved no construct path and so no logical id.
 */
export class RegionalFoundation {
  readonly key: RegionalKey;
  readonly network: RegionalNetwork;
  readonly alerts: RegionalAlerts;
  readonly planLayer: ResidencyPlanLayer;
  readonly backup: RegionalBackup;
  /** VPC, key, log retention, memory, reserved concurrency and bundling of every function. */
  readonly functions: FunctionDefaults;
  /** Decides whether records may replicate to a region, from the residency plan in the layer. */
  readonly residencyCheck: MeridianFunction;

  constructor(scope: Construct, props: RegionalFoundationProps) {
    const s = props.settings;
    this.key = new RegionalKey(scope, 'RegionalKey', { aliasName: props.keyAlias });
    this.network = new RegionalNetwork(scope, 'Network', {
      cidr: props.cidr,
      maxAzs: s.network.maxAzs,
      natGateways: s.network.natGateways,
      interfaceEndpoints: s.network.interfaceEndpoints,
      gatewayEndpoints: s.network.gatewayEndpoints,
      key: this.key.key,
      logRetentionDays: s.observability.logRetentionDays,
    });
    this.alerts = new RegionalAlerts(scope, 'Alerts', {
      key: this.key.key,
      prefix: props.alertPrefix,
      chat: props.chat,
    });
    this.planLayer = new ResidencyPlanLayer(scope, 'ResidencyPlan', { plan: props.plan });
    this.backup = new RegionalBackup(scope, 'Backup', {
      key: this.key.key,
      retentionDays: s.replication.backupRetentionDays,
    });
    this.functions = {
      vpc: this.network.vpc,
      key: this.key.key,
      logRetentionDays: s.observability.logRetentionDays,
      memoryMb: s.lambda.memoryMb,
      reservedConcurrency: s.lambda.reservedConcurrency,
      bundling: props.bundling,
    };
    this.residencyCheck = new MeridianFunction(scope, 'ResidencyCheck', {
      ...this.functions,
      handler: 'residency-check',
      description: 'Decides whether records may replicate to a region, from the residency plan',
      timeoutSeconds: s.lambda.timeoutSeconds,
      layers: [this.planLayer.layer],
      environment: {
        MERIDIAN_REGION: props.region,
        MERIDIAN_RESIDENCY_PLAN_FILE: ResidencyPlanLayer.PLAN_FILE,
      },
      requiredEnvironment: ['MERIDIAN_REGION', 'MERIDIAN_RESIDENCY_PLAN_FILE'],
    });
  }
}
