/**
 * The shape of `regions/`: zod schemas for the global file, a region file and the merged model.
 * Messages are written as the "expected" half of a problem line ("expected <message>").
 * Field-by-field documentation for users lives in regions/README.md.
 */
import { z } from 'zod';
import {
  DEFAULT_MIN_MINUTES_BETWEEN_STARTS,
  DEFAULT_START,
  START_MODES,
} from '../../lambda/shared/failover/start';
import { TRANSFER_BASES } from '../../lambda/shared/residency-plan';
import { CONFLICT_STRATEGIES, MASK_ACTIONS, SYNC_PRIORITIES } from '../../lambda/shared/sync/rules';

/** CloudWatch Logs accepts only these retention periods (days). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
  3653,
] as const;

/** Interface VPC endpoints Meridian knows how to create (services its Lambdas call). */
export const INTERFACE_ENDPOINTS = [
  'secretsmanager',
  'kms',
  'sqs',
  'sns',
  'logs',
  'monitoring',
  'states',
  'sts',
  'lambda',
  'events',
  'xray',
  'ssm',
  'elasticache',
  'rds',
  'es',
] as const;
export const GATEWAY_ENDPOINTS = ['s3', 'dynamodb'] as const;

/** Cloudflare load-balancing region codes. */
export const CLOUDFLARE_REGIONS = [
  'WNAM',
  'ENAM',
  'WEU',
  'EEU',
  'NSAM',
  'SSAM',
  'OC',
  'ME',
  'NAF',
  'SAF',
  'SAS',
  'SEAS',
  'NEAS',
] as const;

export const TIERS = ['primary', 'secondary', 'tertiary'] as const;

/** Regions Route 53 health checkers run from (HealthCheckConfig.Regions). */
export const ROUTE53_CHECKER_REGIONS = [
  'us-east-1',
  'us-west-1',
  'us-west-2',
  'eu-west-1',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-northeast-1',
  'sa-east-1',
] as const;

/** Cloudflare plans, for the shortest monitor interval each allows. */
export const CLOUDFLARE_PLANS = ['free', 'pro', 'business', 'enterprise'] as const;

const id = (what: string) =>
  z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,30}$/, `a ${what} id of lower-case letters, digits and dashes`);
const countryCode = z
  .string()
  .regex(/^[A-Z]{2}$/, 'an upper-case ISO 3166-1 alpha-2 country code such as DE');
const int = (min: number, max: number) => z.number().int().min(min).max(max);
const dnsLabel = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'a lower-case DNS label such as api');
const hostname = z
  .string()
  .regex(/^([a-z0-9-]+\.)+[a-z]{2,}$/, 'a lower-case DNS name such as origin.example.com');
const cloudflareId = (what: string) =>
  z.string().regex(/^[0-9a-f]{32}$/, `a Cloudflare ${what} id (32 lower-case hex characters)`);

export const networkSettingsSchema = z.strictObject({
  maxAzs: int(2, 3).default(3),
  natGateways: int(1, 3).default(2),
  interfaceEndpoints: z.array(z.enum(INTERFACE_ENDPOINTS)).default([...INTERFACE_ENDPOINTS]),
  gatewayEndpoints: z.array(z.enum(GATEWAY_ENDPOINTS)).default([...GATEWAY_ENDPOINTS]),
});

export const settingsSchema = z.strictObject({
  network: networkSettingsSchema.prefault({}),
  observability: z
    .strictObject({
      logRetentionDays: z
        .number()
        .refine((n) => (LOG_RETENTION_DAYS as readonly number[]).includes(n), {
          message: `one of the CloudWatch retention periods: ${LOG_RETENTION_DAYS.join(', ')}`,
        })
        .default(365),
    })
    .prefault({}),
  lambda: z
    .strictObject({
      memoryMb: int(128, 10240).default(256),
      timeoutSeconds: int(1, 900).default(30),
      reservedConcurrency: int(1, 1000).default(10),
    })
    .prefault({}),
  data: z
    .strictObject({
      /** Aurora PostgreSQL engine version (major.minor). */
      auroraEngineVersion: z
        .string()
        .regex(
          /^1[5-7]\.\d+$/,
          'an Aurora PostgreSQL version such as 16.6 (15.x to 17.x support global databases)',
        )
        .default('16.6'),
      auroraMinAcu: z.number().min(0.5).max(256).default(0.5),
      auroraMaxAcu: z.number().min(1).max(256).default(16),
      auroraReaders: int(0, 15).default(1),
    })
    .prefault({}),
  cache: z
    .strictObject({
      engine: z.enum(['redis', 'valkey']).default('redis'),
      engineVersion: z
        .string()
        .regex(/^\d+\.\d+$/, 'a major.minor engine version such as 7.1')
        .default('7.1'),
      /** Global Datastore needs r/m node families. */
      nodeType: z
        .string()
        .regex(
          /^cache\.(r|m)\d+g?[a-z]*\.[a-z0-9]+$/,
          'an r- or m-family node type such as cache.r7g.large (Global Datastore needs them)',
        )
        .default('cache.r7g.large'),
      replicas: int(1, 5).default(1),
      snapshotRetentionDays: int(1, 35).default(15),
    })
    .prefault({}),
  search: z
    .strictObject({
      dataNodes: int(2, 30).default(3),
      dataNodeType: z
        .string()
        .regex(
          /^[a-z0-9]+\.[a-z0-9]+\.search$/,
          'an OpenSearch instance type such as r7g.large.search',
        )
        .default('r7g.large.search'),
      masterNodes: z
        .union([z.literal(3), z.literal(5)], { message: '3 or 5 dedicated master nodes' })
        .default(3),
      masterNodeType: z
        .string()
        .regex(
          /^[a-z0-9]+\.[a-z0-9]+\.search$/,
          'an OpenSearch instance type such as m7g.large.search',
        )
        .default('m7g.large.search'),
      volumeGb: int(10, 16384).default(100),
    })
    .prefault({}),
  storage: z
    .strictObject({
      transitionToIaDays: int(30, 3650).default(30),
      transitionToGlacierDays: int(31, 3650).default(90),
      expireNoncurrentDays: int(1, 3650).default(365),
    })
    .prefault({}),
  replication: z
    .strictObject({
      backupRetentionDays: int(1, 35).default(30),
      auditRetentionDays: int(1, 36500).default(2557),
      s3ReplicationTimeControl: z.boolean().default(true),
    })
    .prefault({}),
  failover: z
    .strictObject({
      healthCheckIntervalSeconds: z
        .union([z.literal(10), z.literal(30)], { message: '10 or 30 (Route 53 intervals)' })
        .default(10),
      failureThreshold: int(1, 10).default(3),
      switchoverLagThresholdSeconds: int(1, 3600).default(30),
      /** Failure signals (health endpoint, Route 53, critical alarms) that must agree. */
      quorum: int(1, 3).default(2),
      /** Runbook lock lease; every mutating step renews it. */
      leaseSeconds: int(60, 3600).default(900),
      /** Failback: how long the original region must stay healthy before it is offered back. */
      failbackStableMinutes: int(1, 1440).default(30),
      /** Failback: how long the approval request waits before it counts as declined. */
      approvalTimeoutHours: int(1, 168).default(24),
    })
    .prefault({}),
  routing: z
    .strictObject({
      /**
       * Deployment slots behind the region's name, as weighted records (canary / blue-green):
       * shift traffic by changing weights. A slot without `origin` is Meridian's regional ingress.
       */
      slots: z
        .record(
          dnsLabel,
          z.strictObject({
            weight: int(0, 255),
            origin: hostname.optional(),
          }),
        )
        .default({ blue: { weight: 100 } }),
    })
    .prefault({}),
  health: z
    .strictObject({
      /** Deadline of each dependency check; Route 53 wants the answer within 2 s. */
      timeoutMs: int(100, 1800).default(1000),
      /** Replication lag above which the region reports itself unhealthy. */
      maxReplicationLagSeconds: int(1, 3600).default(60),
      /** Messages waiting in the sync inbound queue above which the region is unhealthy. */
      maxQueueDepth: int(1, 10_000_000).default(100_000),
      /** How long one answer is reused, so many checkers do not multiply dependency calls. */
      cacheSeconds: int(0, 10).default(2),
    })
    .prefault({}),
  sync: z
    .strictObject({
      scheduleMinutes: int(1, 1440).default(5),
      batchSize: int(1, 10000).default(1000),
      maxAttempts: int(1, 20).default(5),
      /** Sync lag (seconds from write to apply) above which the warning alarm fires. */
      lagAlarmSeconds: int(60, 86400).default(900),
      /**
       * How far ahead of the receiver's clock a record's HLC may be (seconds); further ahead it is
       * parked, never applied.
       */
      maxClockAheadSeconds: int(1, 3600).default(60),
      /**
       * How long each relay invocation listens for commits (seconds); one starts every minute,
       * so more than 60 keeps one listening across the handover. 0: no relay, the schedule only.
       */
      relaySeconds: z.union([z.literal(0), int(61, 240)]).default(90),
      /** Realtime-class sync lag (ms, p99 over a minute) above which the critical alarm fires. */
      realtimeLagAlarmMs: int(100, 60_000).default(1000),
    })
    .prefault({}),
});

const fieldPath = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_]*(\.([A-Za-z_][A-Za-z0-9_]*|\*))*$/,
    'a field path such as email, address.city or address.*',
  );
const maskMap = z.record(fieldPath, z.enum(MASK_ACTIONS));

export const dataClassSchema = z.strictObject({
  description: z.string().default(''),
  scope: z.enum(['global', 'jurisdiction']),
  maskedProjection: z.boolean().default(false),
  requiresEncryption: z.boolean().default(true),
  /**
   * Whether a record can identify a person. Transfer rules apply to personal data only: a class
   * that says false crosses borders with no transfer basis (the report says why).
   */
  personalData: z.boolean().default(true),
  /** How concurrent versions of a record of this class are resolved. */
  conflict: z.enum(CONFLICT_STRATEGIES).default('lww'),
  /**
   * `realtime`: sent by the relay within milliseconds of commit; `batch`: by the scheduled run
   * only, so a bulk load of this class never holds back a realtime one.
   */
  syncPriority: z.enum(SYNC_PRIORITIES).default('realtime'),
  /** Masked projections: field path → action, for every target and per target jurisdiction. */
  masking: z
    .strictObject({
      fields: maskMap.default({}),
      jurisdictions: z.record(z.string(), maskMap).default({}),
    })
    .prefault({}),
});

export const jurisdictionSchema = z.strictObject({
  name: z.string().min(1),
  regulations: z.array(z.string().min(1)).default([]),
  residencyBound: z.boolean().default(false),
  countries: z.array(countryCode).min(1, 'at least one country code'),
  localisedClasses: z.array(z.string()).default([]),
  maskedExportTo: z.array(z.string()).default([]),
  /**
   * The legal basis of each transfer of this jurisdiction's personal data, by target
   * jurisdiction: every crossing the plan allows (a global class, a masked export) needs one.
   */
  transfers: z
    .record(
      z.string(),
      z.strictObject({
        basis: z.enum(TRANSFER_BASES),
        reference: z.string().min(1, 'the instrument: a decision, clauses or an article'),
      }),
    )
    .default({}),
  /**
   * Data-subject requests (access, erasure) of subjects homed here: how many days
   * the law gives to answer (GDPR Art. 12(3): one month; CCPA 1798.130(a)(2): 45 days), and where
   * that is written. `npm run dsr` prints the deadline; the completion records carry it.
   */
  subjectRequests: z
    .strictObject({
      deadlineDays: int(1, 365).default(30),
      reference: z
        .string()
        .min(1)
        .default('Meridian default: 30 days (set jurisdictions.<id>.subjectRequests to its law)'),
    })
    .prefault({}),
  /** How the cell's failover starts when its region-down alarm fires (lib/failover/region-watch.ts). */
  failover: z
    .strictObject({
      /** auto: the trigger starts the runbook (damped); approve: it pages the ready command. */
      start: z.enum(START_MODES).default(DEFAULT_START),
      /** Damping: no automatic start for a region within this many minutes of the last one. */
      minMinutesBetweenStarts: int(1, 1440).default(DEFAULT_MIN_MINUTES_BETWEEN_STARTS),
      /**
       * A region outside the cell that keeps the cell's runbook lock (one table, strongly
       * consistent). Only for cells outside every MRSC Region set (lib/failover/lock-plan.ts).
       * @default - an MRSC table in the Region set holding most of the platform's other regions
       */
      lockHome: z.string().min(1).optional(),
    })
    .prefault({}),
});

/**
 * AWS account ids that stand in for the user's own and name no real deployment: what
 * regions/global.yaml ships (111111111111), what its staging overlay ships (222222222222), and
 * AWS's documentation example (123456789012, the one the account problem line shows). Synth accepts
 * them (it runs offline); what would act on AWS with one, such as the start command
 * `npm run failover` prints (lib/failover/runner.ts), warns.
 */
export const PLACEHOLDER_ACCOUNTS: readonly string[] = [
  '111111111111',
  '222222222222',
  '123456789012',
];

export const globalSchema = z.strictObject({
  platform: z
    .string()
    .regex(/^[a-z][a-z0-9]{1,15}$/, '2-16 lower-case letters/digits, starting with a letter'),
  account: z.string().regex(/^\d{12}$/, 'a 12-digit AWS account id in quotes, e.g. "123456789012"'),
  dns: z.strictObject({
    zoneName: z
      .string()
      .regex(/^([a-z0-9-]+\.)+[a-z]{2,}$/, 'a lower-case DNS name such as example.com'),
    hostedZoneId: z
      .string()
      .regex(/^Z[A-Z0-9]{8,31}$/, 'a Route 53 hosted zone id such as Z0123456789ABC'),
  }),
  tags: z.record(z.string(), z.string()).default({}),
  routing: z
    .strictObject({
      /** Name served by every region (latency routing): `<apiName>.<zoneName>`. */
      apiName: dnsLabel.default('api'),
      /** TTL of Meridian's CNAME records; with the health-check interval it bounds re-routing. */
      ttlSeconds: int(5, 3600).default(30),
      healthPath: z
        .string()
        .regex(/^\/[a-z0-9/_-]*$/, 'an absolute URL path such as /health')
        .default('/health'),
      healthCheckRegions: z
        .array(z.enum(ROUTE53_CHECKER_REGIONS))
        .min(3, 'at least 3 Route 53 checker regions')
        .default(['us-east-1', 'eu-west-1', 'ap-southeast-1']),
    })
    .prefault({}),
  cloudflare: z.strictObject({
    accountId: cloudflareId('account'),
    zoneId: cloudflareId('zone'),
    /** The hostname the load balancer answers, e.g. app.example.com. */
    hostname,
    plan: z.enum(CLOUDFLARE_PLANS).default('enterprise'),
    monitor: z
      .strictObject({
        intervalSeconds: int(5, 3600).default(10),
        timeoutSeconds: int(1, 10).default(5),
        retries: int(0, 5).default(2),
        consecutiveDown: int(1, 10).default(2),
        consecutiveUp: int(1, 10).default(2),
        expectedCodes: z
          .string()
          .regex(/^[1-5]([0-9]{2}|xx)$/, 'an HTTP code or class such as 200 or 2xx')
          .default('200'),
        expectedBody: z.string().min(1).default('"status":"healthy"'),
      })
      .prefault({}),
    sessionAffinityTtlSeconds: int(1800, 604800).default(1800),
    zeroDowntimeFailover: z.enum(['none', 'temporary', 'sticky']).default('sticky'),
    /**
     * Pool used when every pool a client may use is down: `holding` (a pool whose origin serves a
     * holding page and holds no data) or a region id.
     */
    fallback: z.string().default('holding'),
    /** @default - maintenance.<dns.zoneName> */
    holdingOrigin: hostname.optional(),
    notificationEmail: z.email().optional(),
  }),
  /**
   * Where alarms go besides their severity's SNS topic in each region
   * (`<prefix>-<region>-alerts-<severity>`).
   */
  alerts: z
    .strictObject({
      /** Optional chat delivery through AWS Chatbot (Slack), per severity. */
      chat: z
        .strictObject({
          slackWorkspaceId: z
            .string()
            .regex(
              /^[A-Z0-9]{9,11}$/,
              'the Slack workspace (team) id AWS Chatbot shows, e.g. T012AB3C4',
            ),
          slackChannelId: z
            .string()
            .regex(/^[A-Z0-9]{9,11}$/, 'a Slack channel id such as C0123ABCD (not its name)'),
          severities: z
            .array(z.enum(['critical', 'warning', 'info']))
            .min(1, 'at least one severity')
            .default(['critical', 'warning']),
        })
        .optional(),
    })
    .prefault({}),
  dataClasses: z.record(id('data class'), dataClassSchema),
  jurisdictions: z.record(id('jurisdiction'), jurisdictionSchema),
  defaults: settingsSchema.prefault({}),
});

export const regionSchema = z.strictObject({
  id: z.string(),
  account: z
    .string()
    .regex(/^\d{12}$/, 'a 12-digit AWS account id in quotes')
    .optional(),
  jurisdiction: z.string(),
  tier: z.enum(TIERS),
  failoverPriority: int(1, 99),
  failoverTo: z.array(z.string()).optional(),
  capacity: int(1, 100000),
  cidr: z.string(),
  availabilityZones: z.array(z.string()).min(2).max(6).optional(),
  compliance: z.array(z.string().min(1)).default([]),
  residency: z.strictObject({ countries: z.array(countryCode).default([]) }).prefault({}),
  cloudflare: z.strictObject({
    regions: z.array(z.enum(CLOUDFLARE_REGIONS)).default([]),
    latitude: z.number().min(-90).max(90),
    longitude: z.number().min(-180).max(180),
  }),
  settings: settingsSchema.prefault({}),
});

export const modelSchema = z.strictObject({
  env: z.string().regex(/^[a-z][a-z0-9-]{0,15}$/, 'lower-case letters, digits and dashes (≤16)'),
  global: globalSchema,
  regions: z.record(z.string(), regionSchema),
});

export type Settings = z.infer<typeof settingsSchema>;
export type DataClass = z.infer<typeof dataClassSchema>;
export type Jurisdiction = z.infer<typeof jurisdictionSchema>;
export type GlobalConfig = z.infer<typeof globalSchema>;
export type RegionConfig = z.infer<typeof regionSchema>;
export type Tier = (typeof TIERS)[number];
export type InterfaceEndpointName = (typeof INTERFACE_ENDPOINTS)[number];
export type GatewayEndpointName = (typeof GATEWAY_ENDPOINTS)[number];
