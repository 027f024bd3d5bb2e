/**
 * Renders the report as Markdown (tables + Mermaid, for GitHub and for CI diffs) and as one
 * self-contained HTML page (tables + inline SVG). Both come from the same section list, and
 * neither carries a timestamp: the same templates give byte-identical files.
 */
import { diagramEdges, KIND_LABEL, mermaid, svg } from './diagram';
import type { ComplianceReport, FailoverLine } from './model';

interface Table {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

interface Section {
  readonly id: string;
  readonly title: string;
  readonly intro: string;
  readonly table?: Table;
  readonly list?: readonly string[];
  /** Where the replication diagram goes. */
  readonly diagram?: boolean;
}

/**
 * The failover table's RTO cell, from the line's fields: the traffic part, then what the runbook
 * does after it. With no other region in the jurisdiction there is nothing to promote.
 */
export function rtoCell(f: FailoverLine): string {
  if (!f.traffic) return 'no health check in the template';
  const { detectSeconds: detect, ttlSeconds: ttl } = f.traffic;
  const after = !f.targets.length
    ? '; no target in the jurisdiction: manual intervention'
    : f.runbook
      ? '; then the runbook promotes the target'
      : '';
  return `traffic: detect ${detect} s + DNS TTL ${ttl} s = ${detect + ttl} s${after}`;
}

export function sections(r: ComplianceReport): Section[] {
  const regionCols = r.regions.map((x) => x.region);
  return [
    {
      id: 'regions',
      title: 'Regions, jurisdictions and frameworks',
      intro:
        'One CloudFormation stack per region. Jurisdiction, tier and frameworks are the `meridian:*` tags the templates put on every resource.',
      table: {
        columns: ['Region', 'Jurisdiction', 'Tier', 'Frameworks', 'Stack'],
        rows: r.regions.map((x) => [x.region, x.jurisdiction, x.tier, x.frameworks, x.stack]),
      },
    },
    {
      id: 'encryption',
      title: 'Encryption at rest and in transit, per store',
      intro:
        'Read from each store resource: its key (`KmsKeyId` resolved to the key and its alias), the key rotation, and how the template enforces TLS (parameter group, bucket or queue policy, domain endpoint options).',
      table: {
        columns: ['Region', 'Store', 'Resource', 'At rest', 'Key rotation', 'In transit'],
        rows: r.encryption.map((e) => [
          e.region,
          e.store,
          e.resource,
          e.atRest,
          e.rotation,
          e.inTransit,
        ]),
      },
    },
    {
      id: 'residency',
      title: 'Residency matrix (data class × region)',
      intro: `Which jurisdictions' records of each class may be stored in each region, decided by the residency plan the sync Lambdas carry (${r.planAsset ? `\`${r.planAsset}\`` : 'plan asset not found'}). The region's own jurisdiction is listed first; "masked:" means only the masked projection may arrive.`,
      table: {
        columns: ['Class', 'Scope', ...regionCols],
        rows: r.residency.map((x) => [x.dataClass, x.scope, ...x.cells]),
      },
    },
    {
      id: 'edges',
      title: 'Replication edges',
      intro:
        'Every edge along which data leaves a region, read from the templates: Aurora global secondaries, Global Datastore members, S3 replication rules, OpenSearch follower rules, secret replicas, DynamoDB global-table replicas and the sync dispatcher targets.',
      diagram: true,
      table: {
        columns: ['Kind', 'From', 'To', 'What', 'Template#resource'],
        rows: r.edges.map((e) => [KIND_LABEL[e.kind], e.from, e.to, e.what, e.source]),
      },
    },
    {
      id: 'backup',
      title: 'Backup and retention',
      intro:
        'Automated backups, AWS Backup rules, bucket versioning and lifecycle, point-in-time recovery.',
      table: {
        columns: ['Region', 'Store', 'Policy'],
        rows: r.backups.map((b) => [b.region, b.store, b.policy]),
      },
    },
    {
      id: 'audit',
      title: 'Audit trail (Object Lock)',
      intro: 'Buckets whose objects cannot be changed or deleted before their retention ends.',
      table: {
        columns: ['Region', 'Bucket', 'Lock'],
        rows: r.auditLock.map((b) => [b.region, b.store, b.policy]),
      },
    },
    {
      id: 'secrets',
      title: 'Secrets and where they live',
      intro: 'Every Secrets Manager secret, its key, its replicas and its rotation.',
      table: {
        columns: ['Region', 'Secret', 'Key', 'Replicas', 'Rotation'],
        rows: r.secrets.map((s) => [s.region, s.secret, s.key, s.replicas, s.rotation]),
      },
    },
    {
      id: 'failover',
      title: 'Failover targets and modelled RTO / RPO',
      intro:
        'Targets are the other regions of the same jurisdiction (the failover lock table is replicated to exactly those). RTO is the traffic part modelled from the health check and record TTL in the template; RPO from the replication-lag alarm.',
      table: {
        columns: ['Region', 'Jurisdiction', 'Failover targets', 'Modelled RTO', 'Modelled RPO'],
        rows: r.failover.map((f) => [
          f.region,
          f.jurisdiction,
          f.targets.length ? f.targets.join(', ') : 'none',
          rtoCell(f),
          f.rpo,
        ]),
      },
    },
    {
      id: 'edge',
      title: 'Cloudflare pools',
      intro: 'From the cdktf output (`cdktf.out/`): one pool per region, plus the holding pool.',
      table: {
        columns: ['Pool', 'Origins', 'Enabled'],
        rows: r.pools.map((p) => [p.name, p.origins.join(', '), p.enabled ? 'yes' : 'no']),
      },
    },
    {
      id: 'acknowledgements',
      title: 'Acknowledged findings (cdk-nag and Control Tower guard)',
      intro:
        'Every finding a rule pack raised and the code acknowledged, with its reason, grouped by rule and reason. Unacknowledged findings fail `npm run synth`, so none can be missing here.',
      table: {
        columns: ['Pack', 'Rule', 'Reason', 'Where', 'Regions'],
        rows: r.acknowledgements.map((a) => [
          a.pack,
          a.rule,
          a.reason,
          a.where.length > 6
            ? `${a.where.slice(0, 6).join('; ')}; … (${a.where.length} in all)`
            : a.where.join('; '),
          a.regions.length === r.regions.length ? 'all' : a.regions.join(', '),
        ]),
      },
    },
    {
      id: 'gaps',
      title: 'Gaps',
      intro:
        'What a reviewer should weigh: found in the templates, not hidden by an acknowledgement.',
      list: r.gaps.length ? r.gaps : ['None found.'],
    },
  ];
}

const mdCell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderMarkdown(r: ComplianceReport): string {
  const out: string[] = [
    '# Meridian compliance report',
    '',
    'Generated by `npm run report` from the synthesized templates in `cdk.out/` (and `cdktf.out/`), so it describes what will be deployed. It has no timestamp: a diff of this file shows exactly what a change does to compliance.',
    '',
    ...sections(r).map((s) => `- [${s.title}](#${s.id})`),
    '',
  ];
  for (const s of sections(r)) {
    out.push(`<a id="${s.id}"></a>`, '', `## ${s.title}`, '', s.intro, '');
    if (s.diagram) {
      out.push('```mermaid', mermaid(r.regions, diagramEdges(r.edges)), '```', '');
    }
    if (s.table) {
      out.push(
        `| ${s.table.columns.join(' | ')} |`,
        `| ${s.table.columns.map(() => '---').join(' | ')} |`,
      );
      for (const row of s.table.rows) out.push(`| ${row.map(mdCell).join(' | ')} |`);
      if (s.table.rows.length === 0) out.push(`| ${s.table.columns.map(() => '—').join(' | ')} |`);
      out.push('');
    }
    if (s.list) out.push(...s.list.map((x) => `- ${x}`), '');
  }
  return `${out.join('\n').trimEnd()}\n`;
}

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const inline = (s: string) => esc(s).replace(/`([^`]+)`/g, '<code>$1</code>');

export function renderHtml(r: ComplianceReport): string {
  const body: string[] = [
    '<h1>Meridian compliance report</h1>',
    '<p>Generated by <code>npm run report</code> from the synthesized templates in <code>cdk.out/</code>; no timestamp, so the same templates give the same page.</p>',
    `<nav><ul>${sections(r)
      .map((s) => `<li><a href="#${s.id}">${esc(s.title)}</a></li>`)
      .join('')}</ul></nav>`,
  ];
  for (const s of sections(r)) {
    body.push(`<section id="${s.id}"><h2>${esc(s.title)}</h2><p>${inline(s.intro)}</p>`);
    if (s.diagram) body.push(`<figure>${svg(r.regions, diagramEdges(r.edges))}</figure>`);
    if (s.table)
      body.push(
        `<table><thead><tr>${s.table.columns.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead><tbody>${s.table.rows
          .map((row) => `<tr>${row.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`)
          .join('\n')}</tbody></table>`,
      );
    if (s.list) body.push(`<ul>${s.list.map((x) => `<li>${inline(x)}</li>`).join('')}</ul>`);
    body.push('</section>');
  }
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Meridian compliance report</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; max-width: 1400px; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
code { background: #f4f4f4; padding: 0 3px; }
figure { margin: 0; }
</style>
</head>
<body>
${body.join('\n')}
</body>
</html>
`;
}
