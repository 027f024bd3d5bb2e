/**
 * The drill's world: stateful fakes of every service the runbook touches, modelling regions (up or
 * down, writer reachable, replication lag), Route 53 health checks and record sets, the Aurora
 * global cluster, the cache Global Datastore, critical alarms, the lock table, the audit bucket,
 * the Cloudflare pools and the regional health endpoints. SDK calls are answered through
 * aws-sdk-client-mock; HTTP through a replaced `fetch`. Dev and test support: never deployed.
 */
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import {
  ElastiCacheClient,
  FailoverGlobalReplicationGroupCommand,
} from '@aws-sdk/client-elasticache';
import {
  DescribeGlobalClustersCommand,
  FailoverGlobalClusterCommand,
  RDSClient,
  SwitchoverGlobalClusterCommand,
} from '@aws-sdk/client-rds';
import {
  ChangeResourceRecordSetsCommand,
  GetHealthCheckStatusCommand,
  ListHealthChecksCommand,
  ListResourceRecordSetsCommand,
  ListTagsForResourcesCommand,
  type ResourceRecordSet,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import {
  buildReport,
  type CheckResult,
  LAG_CHECK,
  renderReport,
} from '../../../lambda/health/report';
import type { RunbookConfig } from '../../../lambda/shared/failover/config';
import { FakeDynamoDb } from './fake-dynamodb';

/** The Cloudflare token the drill's Secrets Manager holds and its Cloudflare accepts. */
const DRILL_TOKEN = 'drill-cloudflare-token';

export interface RegionModel {
  /** The health endpoint answers. */
  up: boolean;
  /** Its Aurora writer (or, on a secondary, its readers) answers. */
  writer: boolean;
  /** Replication lag into it (s), when it is a secondary. */
  lagSeconds?: number;
  /** Critical alarms firing in it. */
  alarms: string[];
}

export class DrillWorld {
  readonly regions = new Map<string, RegionModel>();
  readonly records = new Map<string, ResourceRecordSet>();
  readonly pools = new Map<string, { name: string; enabled: boolean }>();
  readonly objects = new Map<string, string>();
  readonly notifications: { subject?: string; message: unknown }[] = [];
  /** Every mutating call, in order: what the drill prints and tests count. */
  readonly calls: string[] = [];
  readonly ddb = new FakeDynamoDb();
  writer: string;
  cachePrimary: string;
  /** Milliseconds added to the clock (lease expiry scenarios). */
  clockOffset = 0;
  private readonly stubs: { restore(): void }[] = [];
  private readonly realFetch = globalThis.fetch;
  private readonly realNow = Date.now;

  constructor(readonly config: RunbookConfig) {
    const cell = config.cell;
    const primary = [...cell.regions].sort((a, b) => a.failoverPriority - b.failoverPriority)[0];
    this.writer = primary?.id ?? config.region;
    this.cachePrimary = this.writer;
    for (const r of cell.regions) {
      this.regions.set(r.id, {
        up: true,
        writer: true,
        lagSeconds: r.id === this.writer ? undefined : 1.2,
        alarms: [],
      });
      for (const name of [
        `${config.apiName}.${config.zoneName}.`,
        `${cell.jurisdiction}.${config.zoneName}.`,
      ])
        this.records.set(`${name}|${r.id}`, {
          Name: name,
          Type: 'CNAME',
          SetIdentifier: r.id,
          Region: r.id as never,
          TTL: config.ttlSeconds,
          ResourceRecords: [{ Value: `${r.id}.${config.zoneName}` }],
        });
      this.pools.set(`pool-${r.id}`, { name: `${config.prefix}-${r.id}`, enabled: true });
    }
    this.install();
  }

  /** A region goes down: endpoint, checkers and its critical alarms all say so. */
  fail(region: string): void {
    const r = this.region(region);
    r.up = false;
    r.writer = false;
    r.alarms = [`${this.config.prefix}-${region}-critical-health`];
  }

  region(id: string): RegionModel {
    const r = this.regions.get(id);
    if (!r) throw new Error(`drill: no region ${id} in cell ${this.config.cell.jurisdiction}`);
    return r;
  }

  /** The record a latency name answers with for a region (what clients there resolve). */
  answer(name: string, region: string): string | undefined {
    return this.records.get(`${name}|${region}`)?.ResourceRecords?.[0]?.Value;
  }

  restore(): void {
    for (const s of this.stubs) s.restore();
    this.ddb.restore();
    globalThis.fetch = this.realFetch;
    Date.now = this.realNow;
  }

  private healthBody(id: string): { status: number; body: string } {
    const r = this.region(id);
    const ok = (pass: boolean, value?: number): CheckResult => ({
      ok: pass,
      ms: 1,
      ...(value !== undefined ? { value } : {}),
    });
    const checks: Record<string, CheckResult> = { 'aurora-writer': ok(r.writer), cache: ok(true) };
    if (r.lagSeconds !== undefined) checks[LAG_CHECK] = ok(true, r.lagSeconds);
    const report = buildReport(id, checks);
    return { status: report.status === 'healthy' ? 200 : 503, body: renderReport(report) };
  }

  private install(): void {
    const c = this.config;
    const realNow = this.realNow;
    Date.now = () => realNow() + this.clockOffset;

    const route53 = mockClient(Route53Client);
    const checks = c.cell.regions.map((r, i) => ({ id: `hc-${i}`, region: r.id }));
    route53.on(ListHealthChecksCommand).callsFake(() => ({
      HealthChecks: checks.map((h) => ({
        Id: h.id,
        HealthCheckConfig: { Type: 'HTTPS_STR_MATCH' },
      })),
    }));
    route53.on(ListTagsForResourcesCommand).callsFake((input) => ({
      ResourceTagSets: (input.ResourceIds ?? []).map((id: string) => ({
        ResourceType: 'healthcheck',
        ResourceId: id,
        Tags: [{ Key: 'meridian:region', Value: checks.find((h) => h.id === id)?.region }],
      })),
    }));
    route53.on(GetHealthCheckStatusCommand).callsFake((input) => {
      const region = checks.find((h) => h.id === input.HealthCheckId)?.region ?? '';
      const up = this.region(region).up;
      return {
        HealthCheckObservations: ['us-east-1', 'eu-west-1', 'ap-southeast-1'].map((Region) => ({
          Region,
          StatusReport: {
            Status: up ? 'Success: HTTP Status Code 200' : 'Failure: Connection timed out',
          },
        })),
      };
    });
    route53.on(ListResourceRecordSetsCommand).callsFake((input) => ({
      ResourceRecordSets: [...this.records.values()]
        .filter((r) => r.Name === input.StartRecordName)
        .map((r) => structuredClone(r)),
    }));
    route53.on(ChangeResourceRecordSetsCommand).callsFake((input) => {
      for (const ch of input.ChangeBatch?.Changes ?? []) {
        const r = ch.ResourceRecordSet as ResourceRecordSet;
        this.records.set(`${r.Name}|${r.SetIdentifier}`, structuredClone(r));
        this.calls.push(
          `route53:${ch.Action} ${r.Name} ${r.SetIdentifier} → ${r.ResourceRecords?.[0]?.Value}`,
        );
      }
      return { ChangeInfo: { Id: 'change', Status: 'PENDING', SubmittedAt: new Date() } };
    });

    const cw = mockClient(CloudWatchClient);
    cw.on(DescribeAlarmsCommand).callsFake((input) => {
      const region = c.cell.regions.find((r) =>
        input.AlarmNamePrefix?.startsWith(`${c.prefix}-${r.id}-`),
      )?.id;
      return {
        MetricAlarms: (region ? this.region(region).alarms : []).map((AlarmName) => ({
          AlarmName,
          StateValue: 'ALARM',
        })),
      };
    });

    const rds = mockClient(RDSClient);
    const regionOfArn = (arn: string) => /:rds:([a-z0-9-]+):/.exec(arn)?.[1] ?? '';
    rds.on(SwitchoverGlobalClusterCommand).callsFake((input) => {
      if (!this.region(this.writer).writer)
        throw Object.assign(new Error('the current writer is unavailable'), {
          name: 'InvalidGlobalClusterStateFault',
        });
      this.writer = regionOfArn(input.TargetDbClusterIdentifier);
      this.calls.push(`rds:SwitchoverGlobalCluster → ${this.writer}`);
      return {};
    });
    rds.on(FailoverGlobalClusterCommand).callsFake((input) => {
      this.writer = regionOfArn(input.TargetDbClusterIdentifier);
      this.calls.push(
        `rds:FailoverGlobalCluster AllowDataLoss=${input.AllowDataLoss} → ${this.writer}`,
      );
      return {};
    });
    rds.on(DescribeGlobalClustersCommand).callsFake(() => ({
      GlobalClusters: [
        {
          GlobalClusterIdentifier: c.cell.globalCluster,
          GlobalClusterMembers: c.cell.regions.map((r) => ({
            DBClusterArn: `arn:aws:rds:${r.id}:${c.account}:cluster:${c.prefix}-${r.id}`,
            IsWriter: r.id === this.writer,
          })),
        },
      ],
    }));

    const ec = mockClient(ElastiCacheClient);
    ec.on(FailoverGlobalReplicationGroupCommand).callsFake((input) => {
      this.cachePrimary = input.PrimaryRegion;
      this.calls.push(`elasticache:FailoverGlobalReplicationGroup → ${input.PrimaryRegion}`);
      return {};
    });

    const s3 = mockClient(S3Client);
    s3.on(PutObjectCommand).callsFake((input) => {
      this.objects.set(`${input.Bucket}/${input.Key}`, String(input.Body));
      return {};
    });
    const sm = mockClient(SecretsManagerClient);
    sm.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({ tokenId: 'drill-token-id', token: DRILL_TOKEN }),
    });
    this.stubs.push(route53, cw, rds, ec, s3, sm);

    globalThis.fetch = async (input: string | URL | Request, init?: RequestInit) => {
      const url = new URL(
        typeof input === 'string' ? input : input instanceof URL ? input.href : input.url,
      );
      if (url.hostname === 'api.cloudflare.com') return this.cloudflare(url, init);
      const region = url.hostname.split('.')[0] ?? '';
      if (!this.regions.has(region) || !this.region(region).up) throw new TypeError('fetch failed');
      const { status, body } = this.healthBody(region);
      return new Response(body, { status, headers: { 'content-type': 'application/json' } });
    };
  }

  private cloudflare(url: URL, init?: RequestInit): Response {
    const json = (result: unknown, status = 200) =>
      new Response(JSON.stringify({ success: status < 400, result, errors: [] }), { status });
    if (
      (init?.headers as Record<string, string> | undefined)?.authorization !==
      `Bearer ${DRILL_TOKEN}`
    )
      return json(null, 403);
    const m = /\/load_balancers\/pools(?:\/([^/]+))?$/.exec(url.pathname);
    if (!m) return json(null, 404);
    if (!m[1]) return json([...this.pools].map(([id, p]) => ({ id, ...p })));
    const pool = this.pools.get(m[1]);
    if (!pool) return json(null, 404);
    if (init?.method === 'PATCH') {
      pool.enabled = (JSON.parse(String(init.body)) as { enabled: boolean }).enabled;
      this.calls.push(`cloudflare:pool ${pool.name} enabled=${pool.enabled}`);
    }
    return json({ id: m[1], ...pool });
  }
}
