/// <reference lib="dom" />
/**
 * The compliance report against the templates it was generated from: the diagram's edges are
 * exactly the replication edges in the templates (checked here with plain JSON lookups, not the
 * report's own reader), every store's encryption line matches its template, the output is
 * byte-for-byte stable, a regions/ change shows up as a report diff, and the HTML diagram
 * renders in headless Chromium with one drawn edge per replication edge.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildMeridian, cdkContext } from '../../lib/app';
import type { Assembly } from '../../lib/compliance/report/assembly';
import { readAssembly } from '../../lib/compliance/report/assembly';
import { buildReport, type ComplianceReport } from '../../lib/compliance/report/model';
import { renderHtml, renderMarkdown } from '../../lib/compliance/report/render';
import { KIND_LABEL } from '../../lib/compliance/report/sections/edges';
import type { GapKind } from '../../lib/compliance/report/sections/gaps';
import { copyRegions, edit, load } from '../support/fixture';
import { CHROMIUM, withChromium } from '../support/services';

jest.setTimeout(240_000);
const ROOT = path.resolve(__dirname, '../..');

type Res = { Type: string; Properties?: Record<string, unknown> };
interface Synth {
  dir: string;
  templates: Map<string, Record<string, Res>>;
  md: string;
  html: string;
}

/** Synthesizes a regions/ folder into a fresh cloud assembly and reports on it. */
function synthAndReport(regionsDir: string): Synth {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-report-'));
  const app = new App({ outdir: dir, context: cdkContext() });
  buildMeridian(app, load(regionsDir));
  app.synth();
  const templates = new Map<string, Record<string, Res>>();
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as {
    artifacts: Record<
      string,
      { type: string; environment?: string; properties?: { templateFile: string } }
    >;
  };
  for (const a of Object.values(manifest.artifacts))
    if (a.type === 'aws:cloudformation:stack' && a.properties)
      templates.set(
        String(a.environment?.split('/').pop()),
        (
          JSON.parse(fs.readFileSync(path.join(dir, a.properties.templateFile), 'utf8')) as {
            Resources: Record<string, Res>;
          }
        ).Resources,
      );
  const report = buildReport(readAssembly(dir));
  return { dir, templates, md: renderMarkdown(report), html: renderHtml(report) };
}

const of = (t: Record<string, Res>, type: string) =>
  Object.entries(t).filter(([, r]) => r.Type === type);
const p = (r: Res) => r.Properties ?? {};

/** The replication edges of the templates, `kind from to`, read with plain lookups. */
function templateEdges(templates: Map<string, Record<string, Res>>): Set<string> {
  const edges = new Set<string>();
  const regions = [...templates.keys()];
  for (const [region, t] of templates) {
    for (const [, r] of of(t, 'AWS::RDS::DBCluster')) {
      const g = p(r).GlobalClusterIdentifier;
      for (const [other, ot] of templates)
        if (
          other !== region &&
          of(ot, 'AWS::RDS::GlobalCluster').some(([, x]) => p(x).GlobalClusterIdentifier === g)
        )
          edges.add(`aurora ${other} ${region}`);
    }
    for (const [, r] of of(t, 'AWS::ElastiCache::ReplicationGroup')) {
      const g = String(p(r).GlobalReplicationGroupId ?? '');
      for (const [other, ot] of templates)
        if (
          g &&
          other !== region &&
          of(ot, 'AWS::ElastiCache::GlobalReplicationGroup').some(([, x]) =>
            g.endsWith(String(p(x).GlobalReplicationGroupIdSuffix)),
          )
        )
          edges.add(`cache ${other} ${region}`);
    }
    for (const [, r] of of(t, 'AWS::S3::Bucket'))
      for (const rule of (p(r).ReplicationConfiguration as { Rules?: { Destination: unknown }[] })
        ?.Rules ?? []) {
        const dest = JSON.stringify(rule.Destination);
        const to = regions.filter((x) => dest.includes(x)).sort((a, b) => b.length - a.length)[0];
        edges.add(`s3 ${region} ${to}`);
      }
    for (const [, r] of of(t, 'Custom::OpenSearchReplication'))
      edges.add(`opensearch ${(p(r).leader as { region: string }).region} ${region}`);
    for (const [, r] of of(t, 'AWS::SecretsManager::Secret'))
      for (const x of (p(r).ReplicaRegions as { Region: string }[] | undefined) ?? [])
        edges.add(`secret ${region} ${x.Region}`);
    for (const [, r] of of(t, 'AWS::DynamoDB::GlobalTable'))
      for (const x of (p(r).Replicas as { Region: string }[]) ?? [])
        if (x.Region !== region) edges.add(`dynamodb ${region} ${x.Region}`);
    for (const [, r] of of(t, 'AWS::Lambda::Function')) {
      const q = (p(r).Environment as { Variables?: Record<string, string> } | undefined)?.Variables
        ?.MERIDIAN_TARGET_QUEUES;
      if (q) for (const to of Object.keys(JSON.parse(q))) edges.add(`sync ${region} ${to}`);
    }
  }
  return edges;
}

/** The Mermaid arrows between jurisdictions of the Markdown report: `from to label`. */
const diagramCrossings = (md: string) =>
  [...md.matchAll(/^ {2}j_([a-z0-9_]+) -->\|"([^"]+)"\| j_([a-z0-9_]+)$/gm)].map(
    (m) => `${m[1]} ${m[3]} ${m[2]}`,
  );

/** Rows of the Markdown table under a heading. */
function tableRows(md: string, heading: string): string[][] {
  const part = md.split(`## ${heading}`)[1]?.split('\n## ')[0] ?? '';
  return part
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| ---'))
    .slice(1)
    .map((l) => l.slice(2, -2).split(' | '));
}

let shipped: Synth;
let changed: Synth;
let baseline: Synth;
beforeAll(() => {
  shipped = synthAndReport(copyRegions());
  // Baseline: public content stays in its jurisdiction; the change makes it global again.
  const before = copyRegions();
  edit(before, 'global.yaml', /public:\n {4}scope: global/, 'public:\n    scope: jurisdiction');
  baseline = synthAndReport(before);
  changed = shipped;
});

describe('the replication edges and the diagram', () => {
  test('the edge table has exactly the edges the templates create, and no other', () => {
    const fromTemplates = templateEdges(shipped.templates);
    const kindOf = new Map(Object.entries(KIND_LABEL).map(([k, label]) => [label, k]));
    const inTable = new Set(
      tableRows(shipped.md, 'Replication edges').map(
        ([kind, from, to]) => `${kindOf.get(String(kind))} ${from} ${to}`,
      ),
    );
    expect(fromTemplates.size).toBeGreaterThan(5);
    expect([...inTable].filter((e) => !fromTemplates.has(e))).toEqual([]);
    expect([...fromTemplates].filter((e) => !inTable.has(e))).toEqual([]);
  });

  test('the edge table lists the template resource behind every edge', () => {
    for (const [, from, , , source] of tableRows(shipped.md, 'Replication edges')) {
      const [file, id] = String(source).split('#');
      const template = JSON.parse(fs.readFileSync(path.join(shipped.dir, String(file)), 'utf8'));
      expect(template.Resources[String(id)]).toBeDefined();
      expect(from).toMatch(/^[a-z]+-[a-z]+-\d$/);
    }
  });

  test('the diagram groups regions by jurisdiction and draws one arrow per personal-data crossing, with its classes, mode and basis', () => {
    const plan = load(copyRegions()).plan;
    const mermaid = shipped.md.split('```mermaid\n')[1]?.split('```')[0] ?? '';
    for (const c of plan.cells) {
      const box = mermaid.split(`subgraph j_${c.jurisdiction}[`)[1]?.split('  end')[0] ?? '';
      for (const r of c.regions) expect(box).toContain(`${r.replace(/-/g, '_')}["${r} (`);
    }
    const j = new Map(plan.regions.map((r) => [r.id, r.jurisdiction]));
    const expected = new Map<string, Set<string>>();
    for (const e of plan.edges)
      if (e.crossJurisdiction && e.basis?.basis !== 'not-personal-data') {
        const key = `${j.get(e.from)} ${j.get(e.to)}`;
        expected.set(key, (expected.get(key) ?? new Set()).add(`${e.dataClass} ${e.mode}`));
      }
    const drawn = diagramCrossings(shipped.md);
    expect(drawn.map((d) => d.split(' ').slice(0, 2).join(' ')).sort()).toEqual(
      [...expected.keys()].sort(),
    );
    for (const d of drawn) {
      const key = d.split(' ').slice(0, 2).join(' ');
      for (const cm of expected.get(key) ?? []) expect(d).toContain(cm);
      expect(d).toMatch(/ · (adequacy|contractual clauses|BCRs|consent|not restricted)/);
    }
    // Pairs only data that identifies no one crosses are dashed (here none: EU pii goes to the
    // US masked, and the fixture has two jurisdictions).
    const pair = (a: string, b: string) => [a, b].sort().join(' ');
    const crossed = new Set(drawn.map((d) => pair(d.split(' ')[0] ?? '', d.split(' ')[1] ?? '')));
    const onlyNonPersonal = new Set(
      plan.edges
        .filter((e) => e.crossJurisdiction)
        .map((e) => pair(j.get(e.from) ?? '', j.get(e.to) ?? ''))
        .filter((p) => !crossed.has(p)),
    );
    const dashed = [
      ...shipped.md.matchAll(/^ {2}j_(\w+) -\.-\|"not personal data"\| j_(\w+)$/gm),
    ].map(([, a, b]) => pair(a ?? '', b ?? ''));
    expect(new Set(dashed)).toEqual(onlyNonPersonal);
  });
});

describe('encryption lines', () => {
  const STORES = [
    'AWS::RDS::DBCluster',
    'AWS::ElastiCache::ReplicationGroup',
    'AWS::S3::Bucket',
    'AWS::OpenSearchService::Domain',
    'AWS::SQS::Queue',
    'AWS::DynamoDB::GlobalTable',
    'AWS::SNS::Topic',
  ];

  test('one line per store resource of every template', () => {
    const rows = tableRows(shipped.md, 'Encryption at rest and in transit, per store');
    for (const [region, t] of shipped.templates) {
      const ids = STORES.flatMap((type) => of(t, type).map(([id]) => id)).sort();
      expect(
        rows
          .filter((r) => r[0] === region)
          .map((r) => String(r[2]))
          .sort(),
      ).toEqual(ids);
    }
  });

  test('each line names the key its template uses, and that key rotates', () => {
    const rows = tableRows(shipped.md, 'Encryption at rest and in transit, per store');
    for (const [region, , id, atRest, rotation] of rows) {
      const t = shipped.templates.get(String(region)) as Record<string, Res>;
      const r = t[String(id)] as Res;
      const text = JSON.stringify(r.Properties);
      const keyId = Object.keys(t).find(
        (k) => t[k]?.Type === 'AWS::KMS::Key' && text.includes(`"${k}"`),
      );
      if (keyId) {
        expect(atRest).toMatch(/^customer key alias\//);
        expect(rotation).toBe(
          p(t[keyId] as Res).EnableKeyRotation === true ? 'yearly' : 'NOT ROTATED',
        );
      } else if (text.includes('"AES256"')) expect(atRest).toBe('SSE-S3 (AWS managed)');
      else expect(atRest).not.toMatch(/^customer key/);
    }
  });

  test('TLS lines follow the template: a bucket whose policy denies plain HTTP says so', () => {
    const rows = tableRows(shipped.md, 'Encryption at rest and in transit, per store');
    const buckets = rows.filter((r) => r[1] === 'S3 bucket');
    expect(buckets.length).toBeGreaterThan(0);
    for (const [region, , id, , , transit] of buckets) {
      const t = shipped.templates.get(String(region)) as Record<string, Res>;
      const denies = of(t, 'AWS::S3::BucketPolicy').some(
        ([, x]) =>
          JSON.stringify(p(x).Bucket).includes(`"${id}"`) &&
          JSON.stringify(p(x).PolicyDocument).includes('"aws:SecureTransport":"false"'),
      );
      expect(transit).toBe(denies ? 'TLS required (bucket policy)' : 'TLS NOT ENFORCED');
    }
  });
});

describe('secrets and gaps, from the facts', () => {
  /** The shipped assembly with one region's template changed in memory. */
  function changedAssembly(region: string, change: (t: Record<string, Res>) => void): Assembly {
    const a = readAssembly(shipped.dir);
    return {
      ...a,
      stacks: a.stacks.map((s) => {
        if (s.region !== region) return s;
        const template = structuredClone(s.template) as { Resources: Record<string, Res> };
        change(template.Resources);
        return { ...s, template };
      }),
    };
  }
  const kinds = (r: ComplianceReport, region: string) =>
    r.gaps.filter((g) => g.regions.includes(region)).map((g) => g.finding.kind);

  test('the Aurora credentials rotate through their target attachment, and are no gap', () => {
    const t = shipped.templates.get('eu-west-1') as Record<string, Res>;
    const [scheduleId, schedule] = of(t, 'AWS::SecretsManager::RotationSchedule').find(([, r]) => {
      const target = t[String((p(r).SecretId as { Ref?: string }).Ref)];
      return target?.Type === 'AWS::SecretsManager::SecretTargetAttachment';
    }) as [string, Res];
    const every = (p(schedule).RotationRules as { ScheduleExpression: string }).ScheduleExpression;
    const row = tableRows(shipped.md, 'Secrets and where they live').find(
      ([region, name]) => region === 'eu-west-1' && /aurora-credentials$/.test(String(name)),
    );
    expect(row?.[4]).toBe(`on ${every}`);
    expect(shipped.md).not.toMatch(/aurora-credentials is not rotated/);
    // Without the schedule, the same secret is a gap again.
    const without = buildReport(
      changedAssembly('eu-west-1', (r) => {
        delete r[scheduleId];
      }),
    );
    expect(
      without.gaps.filter(
        (g) => g.finding.kind === 'secret-not-rotated' && /aurora/.test(g.finding.secret),
      ),
    ).toEqual([
      {
        finding: { kind: 'secret-not-rotated', secret: 'meridian-prod-eu-aurora-credentials' },
        regions: ['eu-west-1'],
      },
    ]);
  });

  test('each weakened template field is a gap, whatever its cell says', () => {
    const weakened = buildReport(
      changedAssembly('eu-west-1', (r) => {
        for (const [, x] of of(r, 'AWS::KMS::Key')) delete x.Properties?.EnableKeyRotation;
        for (const [id] of of(r, 'AWS::S3::BucketPolicy')) delete r[id];
        for (const [, x] of of(r, 'AWS::RDS::DBCluster'))
          (x.Properties as Record<string, unknown>).DeletionProtection = false;
        for (const [, x] of of(r, 'AWS::S3::Bucket')) delete x.Properties?.VersioningConfiguration;
        for (const [, x] of of(r, 'AWS::OpenSearchService::Domain'))
          delete x.Properties?.NodeToNodeEncryptionOptions;
      }),
    );
    const added = [
      'key-not-rotated',
      'tls-not-enforced',
      'deletion-protection-off',
      'versioning-off',
      'node-to-node-not-encrypted',
    ];
    const before = new Set(kinds(buildReport(readAssembly(shipped.dir)), 'eu-west-1'));
    expect(added.filter((k) => before.has(k as GapKind))).toEqual([]);
    expect(new Set(kinds(weakened, 'eu-west-1'))).toEqual(new Set([...before, ...added]));
    // Rewording the cells cannot drop a gap: the gaps are computed before any wording, and each
    // is listed in the Markdown.
    const md = renderMarkdown(weakened);
    const listed = (md.split('## Gaps')[1] ?? '').split('\n').filter((l) => l.startsWith('- '));
    expect(listed).toHaveLength(weakened.gaps.length);
  });
});

describe('cross-border transfers', () => {
  test('every border crossing of the plan is listed with its basis; consent ones say so', () => {
    const plan = load(copyRegions()).plan;
    const j = new Map(plan.regions.map((r) => [r.id, r.jurisdiction]));
    const rows = tableRows(shipped.md, 'Cross-border transfers and their legal basis');
    const crossings = plan.edges.filter((e) => e.crossJurisdiction);
    expect(crossings.length).toBeGreaterThan(0);
    for (const e of crossings) {
      const row = rows.find(
        ([from, to, classes]) =>
          from === j.get(e.from) &&
          to === j.get(e.to) &&
          String(classes).split(', ').includes(`${e.dataClass} (${e.mode})`),
      );
      expect(row?.[3]).toEqual(
        e.basis?.basis === 'not-personal-data'
          ? 'not personal data'
          : e.basis?.basis === 'consent'
            ? "data subject's consent (per record; sync only)"
            : expect.any(String),
      );
      expect(row?.[4]).not.toBe('—');
    }
    expect(rows.filter((r) => r[3] === 'NO BASIS')).toEqual([]);
    // The fixture's one personal-data crossing: masked EU pii to the US, on adequacy.
    expect(
      rows.find(
        ([from, to, classes]) => from === 'eu' && to === 'us' && classes === 'pii (masked)',
      ),
    ).toEqual([
      'eu',
      'us',
      'pii (masked)',
      'adequacy decision',
      'EU-US Data Privacy Framework, Commission Implementing Decision (EU) 2023/1795',
    ]);
  });
});

describe('the environment the report describes', () => {
  /** A copy of the shipped assembly whose `region` stacks carry `env` in their meridian:env tags. */
  function retagged(env: string, regions?: readonly string[]): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-report-env-'));
    fs.cpSync(shipped.dir, dir, { recursive: true });
    for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.template.json'))) {
      const file = path.join(dir, f);
      const t = JSON.parse(fs.readFileSync(file, 'utf8')) as { Resources: Record<string, Res> };
      if (regions && !regions.some((r) => f.includes(r))) continue;
      for (const r of Object.values(t.Resources)) {
        const tags = p(r).Tags;
        if (Array.isArray(tags))
          for (const tg of tags as { Key: string; Value: string }[])
            if (tg.Key === 'meridian:env') tg.Value = env;
      }
      fs.writeFileSync(file, JSON.stringify(t));
    }
    return dir;
  }
  const report = (cdkOut: string, out: string) =>
    spawnSync(
      'node',
      [
        path.join(ROOT, 'node_modules/.bin/tsx'),
        path.join(ROOT, 'bin/report.ts'),
        '--cdk-out',
        cdkOut,
        '--out',
        out,
      ],
      { encoding: 'utf8' },
    );

  test('a staging assembly writes the staging report and never compliance.md', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-reports-'));
    const run = report(retagged('staging'), out);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^compliance report \(staging\): .*compliance-staging\.md/m);
    expect(fs.readdirSync(out).sort()).toEqual([
      'compliance-staging.html',
      'compliance-staging.md',
      'compliance-staging.oscal.json',
      'compliance-staging.sarif',
    ]);
    expect(fs.readFileSync(path.join(out, 'compliance-staging.md'), 'utf8')).toContain(
      'Environment: `staging`',
    );
    expect(shipped.md).toContain('Environment: `prod`');
  });

  test('an assembly mixing environments is refused in one line, and nothing is written', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-reports-'));
    const run = report(retagged('staging', ['eu-west-1']), out);
    expect(run.status).toBe(1);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^report: the assembly holds stacks of several environments \(/);
    expect(fs.readdirSync(out)).toEqual([]);
  });
});

describe('determinism and diffs', () => {
  test('the same assembly gives byte-identical Markdown and HTML, with no timestamp', () => {
    const again = buildReport(readAssembly(shipped.dir));
    expect(renderMarkdown(again)).toBe(shipped.md);
    expect(renderHtml(again)).toBe(shipped.html);
    expect(shipped.md).not.toMatch(/20\d\d-\d\d-\d\dT/);
  });

  test('making a public class global adds cross-jurisdiction edges to the report diff', () => {
    const before = new Set(baseline.md.split('\n'));
    const added = changed.md.split('\n').filter((l) => !before.has(l));
    const jurisdiction = (r: string) => (r.startsWith('eu-') ? 'eu' : 'us');
    const crossEdges = added
      .filter((l) => l.startsWith('| '))
      .map((l) => l.slice(2, -2).split(' | '))
      .filter(
        ([kind, from, to, what]) =>
          kind !== undefined &&
          /^[a-z]+-[a-z]+-\d$/.test(String(from)) &&
          /^[a-z]+-[a-z]+-\d$/.test(String(to)) &&
          jurisdiction(String(from)) !== jurisdiction(String(to)) &&
          /public/.test(String(what)),
      );
    expect(crossEdges.length).toBeGreaterThan(0);
    // The matrix row of the class changes too: eu data may now sit in us regions and back.
    expect(added.find((l) => l.startsWith('| public | global |'))).toBeDefined();
    expect(baseline.md).toMatch(/^\| public \| jurisdiction \|/m);
  });
});

describe('the failover table', () => {
  const rows = () =>
    new Map(tableRows(shipped.md, 'Failover targets and modelled RTO / RPO').map((r) => [r[0], r]));

  test('us-east-1, alone in its cell: no target, manual intervention; never "promotes the target"', () => {
    const [, jurisdiction, targets, rto] = rows().get('us-east-1') ?? [];
    expect([jurisdiction, targets]).toEqual(['us', 'none']);
    expect(rto).toMatch(/; no target in the jurisdiction: manual intervention$/);
    expect(rto).not.toContain('promotes');
    // The runbook is in the template all the same: the cell says so because nothing can be promoted.
    expect(
      of(shipped.templates.get('us-east-1') ?? {}, 'AWS::StepFunctions::StateMachine'),
    ).not.toEqual([]);
  });

  test('a region with a target in its cell: the runbook promotes it', () => {
    for (const [region, target] of [
      ['eu-west-1', 'eu-central-1'],
      ['eu-central-1', 'eu-west-1'],
    ]) {
      const [, , targets, rto] = rows().get(region) ?? [];
      expect(targets).toBe(target);
      expect(rto).toMatch(
        /^traffic: detect \d+ s \+ DNS TTL \d+ s = \d+ s; then the runbook promotes the target$/,
      );
    }
  });
});

describe('the HTML report in headless Chromium', () => {
  withChromium(
    'renders the diagram: a box per jurisdiction and one visible arrow per personal-data crossing',
    async () => {
      const { chromium } = await import('playwright-core');
      const file = path.join(shipped.dir, 'compliance.html');
      fs.writeFileSync(file, shipped.html);
      const b = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
      try {
        const page = await b.newPage();
        await page.goto(`file://${file}`);
        const drawn = await page.evaluate(() =>
          Array.from(document.querySelectorAll('#replication-diagram path.crossing')).map((e) => {
            const box = (e as SVGGraphicsElement).getBBox();
            return {
              edge: `${e.getAttribute('data-from')} ${e.getAttribute('data-to')}`,
              visible: box.width > 0 || box.height > 0,
            };
          }),
        );
        const boxes = await page.locator('#replication-diagram g.jurisdiction').count();
        const figure = await page.locator('#replication-diagram').boundingBox();
        expect(figure?.width).toBeGreaterThan(300);
        expect(boxes).toBe(
          new Set(tableRows(shipped.md, 'Regions, jurisdictions and frameworks').map((r) => r[1]))
            .size,
        );
        expect(drawn.every((d) => d.visible)).toBe(true);
        expect(drawn.map((d) => d.edge).sort()).toEqual(
          diagramCrossings(shipped.md)
            .map((d) => d.split(' ').slice(0, 2).join(' '))
            .sort(),
        );
        await page.locator('#replication-diagram').screenshot({
          path: path.join(shipped.dir, 'diagram.png'),
        });
      } finally {
        await b.close();
      }
    },
  );
});
