import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import {
  ResidencyIndex,
  TRANSFER_BASES,
  type TransferBasisKind,
} from '../../lambda/shared/residency-plan';
import { checkTemplate } from '../../lib/compliance/residency-guard';
import type { MeridianConfig } from '../../lib/config/load';
import { mrscSetOf } from '../../lib/failover/lock-plan';
import { Naming } from '../../lib/naming';
import { buildApp } from '../support/app';
import { load } from '../support/fixture';

/**
 * Random valid regions/ folders → synthesized templates:
 * 1. the residency guard finds no edge the plan forbids, and
 * 2. judged straight from the config's rules (not through the plan code), no jurisdiction-bound or
 *    localised class leaves its jurisdiction in full, and no database or cache spans two.
 */
const POOL = [
  'us-east-1',
  'us-west-2',
  'eu-west-1',
  'eu-central-1',
  'ap-south-1',
  'ap-southeast-1',
  'ca-central-1',
];
const COUNTRIES = [['US', 'PR'], ['DE', 'FR'], ['IN'], ['SG', 'JP']];
const CLASSES = {
  public: { scope: 'global', requiresEncryption: false, personalData: false },
  internal: { scope: 'global', personalData: false },
  pii: { scope: 'jurisdiction', maskedProjection: true },
  phi: { scope: 'jurisdiction' },
};

const configs = fc
  .record({
    regions: fc.uniqueArray(fc.constantFrom(...POOL), { minLength: 2, maxLength: 4 }),
    owners: fc.array(fc.nat({ max: 2 }), { minLength: 4, maxLength: 4 }),
    localise: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
    exports: fc.array(fc.subarray([0, 1, 2]), { minLength: 3, maxLength: 3 }),
    /** The basis each jurisdiction's masked exports rest on. */
    bases: fc.array(fc.constantFrom(...TRANSFER_BASES), { minLength: 3, maxLength: 3 }),
  })
  .map(({ regions, owners, localise, exports, bases }) => ({
    regions: regions.map((id, i) => ({ id, j: owners[i] ?? 0 })),
    localise,
    exports,
    bases,
  }))
  // The config check refuses a platform of one jurisdiction whose regions lie in no one MRSC
  // Region set (its runbook lock would have nowhere outside the cell): not a valid regions/.
  .filter(
    (c) =>
      new Set(c.regions.map((r) => r.j)).size > 1 ||
      mrscSetOf(c.regions.map((r) => r.id)) !== undefined,
  );

function writeConfig(c: {
  regions: { id: string; j: number }[];
  localise: boolean[];
  exports: number[][];
  bases: TransferBasisKind[];
}): string {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-prop-')), 'regions');
  fs.mkdirSync(dir, { recursive: true });
  const used = [...new Set(c.regions.map((r) => r.j))].sort();
  const exportsOf = (j: number) =>
    (c.exports[j] ?? []).filter((t) => t !== j && used.includes(t)).map((t) => `j${t}`);
  const jurisdictions = Object.fromEntries(
    used.map((j) => [
      `j${j}`,
      {
        name: `J${j}`,
        countries: COUNTRIES[j],
        residencyBound: j !== 0,
        localisedClasses: c.localise[j] ? ['internal'] : [],
        maskedExportTo: exportsOf(j),
        transfers: Object.fromEntries(
          exportsOf(j).map((t) => [t, { basis: c.bases[j] ?? 'consent', reference: 'test' }]),
        ),
      },
    ]),
  );
  fs.writeFileSync(
    path.join(dir, 'global.yaml'),
    stringify({
      platform: 'meridian',
      account: '111111111111',
      dns: { zoneName: 'example.com', hostedZoneId: 'Z0TEST0000000' },
      cloudflare: {
        accountId: '0123456789abcdef0123456789abcdef',
        zoneId: 'fedcba9876543210fedcba9876543210',
        hostname: 'app.example.com',
      },
      dataClasses: CLASSES,
      jurisdictions,
      defaults: {
        network: { natGateways: 1, interfaceEndpoints: ['kms'], gatewayEndpoints: ['s3'] },
      },
    }),
  );
  const seen = new Map<number, number>();
  c.regions.forEach((r, i) => {
    const n = seen.get(r.j) ?? 0;
    seen.set(r.j, n + 1);
    fs.writeFileSync(
      path.join(dir, `${r.id}.yaml`),
      stringify({
        id: r.id,
        jurisdiction: `j${r.j}`,
        tier: n === 0 ? 'primary' : 'secondary',
        failoverPriority: n + 1,
        capacity: 10,
        cidr: `10.${i}.0.0/16`,
        cloudflare: { regions: [], latitude: 0, longitude: 0 },
      }),
    );
  });
  return dir;
}

/** Independent judgement from the config alone. */
function leaks(
  config: MeridianConfig,
  template: { Resources?: Record<string, { Type: string; Properties?: Record<string, unknown> }> },
  from: string,
): string[] {
  const jOf = (r: string) => config.regions.find((x) => x.id === r)?.jurisdiction;
  const home = jOf(from) as string;
  const rules = config.global.jurisdictions[home];
  const restricted = (c: string) =>
    config.global.dataClasses[c]?.scope === 'jurisdiction' || rules?.localisedClasses.includes(c);
  const out: string[] = [];
  for (const r of Object.values(template.Resources ?? {})) {
    const p = r.Properties ?? {};
    if (r.Type === 'AWS::RDS::DBCluster' && p.GlobalClusterIdentifier !== `meridian-prod-${home}`)
      out.push(`aurora ${String(p.GlobalClusterIdentifier)}`);
    if (
      r.Type === 'AWS::ElastiCache::ReplicationGroup' &&
      typeof p.GlobalReplicationGroupId === 'string' &&
      !p.GlobalReplicationGroupId.endsWith(`-meridian-prod-${home}`)
    ) {
      out.push(`cache ${p.GlobalReplicationGroupId}`);
    }
    if (r.Type === 'Custom::OpenSearchReplication') {
      // Here `from` is the follower; judge with the leader's home rules.
      const leader = String((p.leader as { region: string }).region);
      const leaderHome = jOf(leader) as string;
      if (leaderHome === home) continue;
      const lrules = config.global.jurisdictions[leaderHome];
      const lrestricted = (c: string) =>
        config.global.dataClasses[c]?.scope === 'jurisdiction' ||
        lrules?.localisedClasses.includes(c);
      for (const rule of (p.rules as { pattern: string }[]) ?? []) {
        const masked = /^masked-([a-z0-9]+)-([a-z]+)-\*$/.exec(rule.pattern);
        const full = /^([a-z]+)-\*$/.exec(rule.pattern)?.[1];
        if (full && lrestricted(full)) out.push(`search ${full} ${leader} → ${from}`);
        // A transfer on consent goes record by record: no follower copies the class.
        if (masked && lrules?.transfers[home]?.basis === 'consent')
          out.push(`search on consent ${masked[2]} ${leader} → ${from}`);
        if (
          masked &&
          !(
            config.global.dataClasses[masked[2] as string]?.maskedProjection &&
            lrules?.maskedExportTo.includes(home)
          )
        ) {
          out.push(`search masked ${masked[2]} ${leader} → ${from}`);
        }
      }
      continue;
    }
    if (r.Type !== 'AWS::S3::Bucket') continue;
    for (const rule of (
      p.ReplicationConfiguration as {
        Rules?: { Filter?: { Prefix?: string }; Destination: { Bucket: unknown } }[];
      }
    )?.Rules ?? []) {
      const to = /meridian-prod-([a-z]+-[a-z]+-\d)-/.exec(
        JSON.stringify(rule.Destination.Bucket),
      )?.[1] as string;
      if (jOf(to) === home) continue;
      const prefix = rule.Filter?.Prefix ?? '';
      const full = /^([a-z]+)\/$/.exec(prefix)?.[1];
      const masked = /^masked\/([^/]+)\/([a-z]+)\/$/.exec(prefix);
      if (prefix === '') out.push(`whole bucket ${from} → ${to}`);
      else if (masked && rules?.transfers[jOf(to) as string]?.basis === 'consent')
        out.push(`on consent ${masked[2]} ${from} → ${to}`);
      else if (full && restricted(full)) out.push(`${full} ${from} → ${to}`);
      else if (
        masked &&
        !(
          config.global.dataClasses[masked[2] as string]?.maskedProjection &&
          rules?.maskedExportTo.includes(jOf(to) as string)
        )
      ) {
        out.push(`masked ${masked[2]} ${from} → ${to}`);
      }
    }
  }
  return out;
}

test('synthesized replication edges always respect residency', () => {
  fc.assert(
    fc.property(configs, (c) => {
      const config = load(writeConfig(c));
      const built = buildApp(config);
      const index = new ResidencyIndex(config.plan);
      for (const r of config.regions) {
        const template = built.template(r.id).toJSON();
        expect(checkTemplate(index, new Naming('meridian', 'prod'), r.id, template)).toEqual([]);
        expect(leaks(config, template, r.id)).toEqual([]);
      }
    }),
    // Each case synthesizes up to four stacks (~1 s): enough cases to mix jurisdictions, few
    // enough to keep the suite fast.
    { numRuns: 12 },
  );
});
