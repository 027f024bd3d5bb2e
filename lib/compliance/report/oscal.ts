/**
 * The report as an OSCAL 1.1.2 assessment-results document, for assessors' tools: one result
 * (the synth-time assessment), the NIST SP 800-53 rev 5 controls it reviewed (those the
 * acknowledged NIST findings and the gaps bear on), an observation per acknowledged finding
 * (pack, rule, reason, where) and per gap, and a finding per reviewed control relating them.
 * HIPAA and PCI DSS requirement ids, which no OSCAL catalog carries here, are observation props.
 *
 * Deterministic: uuids are version-5 names of what they identify, and the document's dates are
 * fixed (the templates, not the clock, decide the bytes; metadata.version is a digest of the
 * content). The remarks say so.
 */
import { createHash } from 'node:crypto';
import type { ComplianceReport } from './model';
import { type AcknowledgementGroup, acknowledgementText } from './sections/acknowledgements';
import { GAP_RULES, type Gap, gapText } from './sections/gaps';

export const OSCAL_VERSION = '1.1.2';
/** The dates of a document whose bytes depend on the templates only. */
export const FIXED_TIME = '1970-01-01T00:00:00Z';
/** Namespace of Meridian's own props. */
export const PROP_NS = 'urn:meridian:compliance';
/** RFC 4122 URL namespace, for the version-5 uuids. */
const URL_NAMESPACE = '6ba7b811-9dad-11d1-80b4-00c04fd430c8';

/** A version-5 (SHA-1, name-based) UUID of `name`. */
export function uuidV5(name: string): string {
  const ns = Buffer.from(URL_NAMESPACE.replace(/-/g, ''), 'hex');
  const h = createHash('sha1').update(ns).update(name).digest();
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x50;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/**
 * The NIST SP 800-53 catalog id of a control as the packs write it: `AC-4(21)` → `ac-4.21`,
 * `CP-9d` → `cp-9`, `MA-4(1)(a)` → `ma-4.1` (statement items fold into their control).
 */
export function nistControlId(control: string): string | undefined {
  const m = /^([A-Z]{2})-(\d+)(?:\((\d+)\))?/.exec(control);
  if (!m) return undefined;
  return `${m[1]?.toLowerCase()}-${m[2]}${m[3] ? `.${m[3]}` : ''}`;
}

const NIST_PACK = 'NIST.800.53.R5';

function nistOf(a: AcknowledgementGroup): string[] {
  if (a.pack !== NIST_PACK) return [];
  return [...new Set((a.ruleInfo?.controls ?? []).flatMap((c) => nistControlId(c) ?? []))];
}

const prop = (name: string, value: string) => ({ name, ns: PROP_NS, value });

export function toOscal(r: ComplianceReport, reportName: string): unknown {
  const env = r.env ?? 'untagged';
  const n = r.regions.length;
  const id = (what: string) => uuidV5(`urn:meridian:${env}:${what}`);
  const observations: { uuid: string; controls: string[]; gap: boolean; body: object }[] = [
    ...r.acknowledgements.map((a) => {
      const uuid = id(`acknowledgement:${a.pack}:${a.rule}:${a.reason}`);
      return {
        uuid,
        controls: nistOf(a),
        gap: false,
        body: {
          uuid,
          title: `${a.pack} ${a.rule}: acknowledged`,
          description: acknowledgementText(a, n),
          props: [
            prop('pack', a.pack),
            prop('rule', a.rule),
            ...(a.ruleInfo?.controls ?? []).map((c) => prop('framework-control', `${a.pack} ${c}`)),
          ],
          methods: ['EXAMINE'],
          types: ['finding'],
          'relevant-evidence': [
            {
              href: `${reportName}.md#acknowledgements`,
              description: `Where: ${a.where.join('; ')}`,
            },
          ],
          collected: FIXED_TIME,
        },
      };
    }),
    ...r.gaps.map((g: Gap) => {
      const uuid = id(`gap:${JSON.stringify(g.finding)}`);
      return {
        uuid,
        controls: GAP_RULES[g.finding.kind].nist.flatMap((c) => nistControlId(c) ?? []),
        gap: true,
        body: {
          uuid,
          title: `Gap: ${g.finding.kind}`,
          description: gapText(g, n),
          props: [prop('gap', g.finding.kind)],
          methods: ['EXAMINE'],
          types: ['finding'],
          'relevant-evidence': [
            { href: `${reportName}.md#gaps`, description: GAP_RULES[g.finding.kind].about },
          ],
          collected: FIXED_TIME,
        },
      };
    }),
  ];
  const controls = [...new Set(observations.flatMap((o) => o.controls))].sort((a, b) =>
    a.localeCompare(b, 'en', { numeric: true }),
  );
  const findings = controls.map((control) => {
    const related = observations.filter((o) => o.controls.includes(control));
    const gaps = related.filter((o) => o.gap).length;
    return {
      uuid: id(`finding:${control}`),
      title: `NIST SP 800-53 rev 5 ${control.toUpperCase()}`,
      description:
        gaps > 0
          ? `${gaps} gap(s) in the templates bear on this control, beside ${related.length - gaps} acknowledged rule finding(s).`
          : `Every finding the packs raised on this control is acknowledged with a reason (${related.length} related observation(s)).`,
      target: {
        type: 'statement-id',
        'target-id': `${control}_smt`,
        status: { state: gaps > 0 ? 'not-satisfied' : 'satisfied' },
      },
      'related-observations': related.map((o) => ({ 'observation-uuid': o.uuid })),
    };
  });
  const result = {
    uuid: id('result'),
    title: 'Synth-time assessment of the templates',
    description:
      'cdk-nag (AWS Solutions, HIPAA Security, NIST 800-53 R5, PCI DSS 3.2.1), the Control Tower proactive controls and the residency guard ran on every stack at synth; unacknowledged findings fail synth, so what remains are acknowledged findings, each with its reason, and the gaps computed from the templates.',
    start: FIXED_TIME,
    'reviewed-controls': {
      'control-selections': [
        controls.length
          ? { 'include-controls': controls.map((c) => ({ 'control-id': c })) }
          : { 'include-all': {} },
      ],
    },
    ...(observations.length ? { observations: observations.map((o) => o.body) } : {}),
    ...(findings.length ? { findings } : {}),
  };
  const digest = createHash('sha256').update(JSON.stringify(result)).digest('hex').slice(0, 12);
  return {
    'assessment-results': {
      uuid: id('assessment-results'),
      metadata: {
        title: `Meridian ${env}: compliance assessment of the synthesized templates`,
        'last-modified': FIXED_TIME,
        version: `sha256:${digest}`,
        'oscal-version': OSCAL_VERSION,
        remarks:
          'Generated by npm run report from cdk.out/. Dates are fixed so the bytes depend on the templates only; the version is a digest of the result.',
      },
      'import-ap': { href: `${reportName}.md` },
      results: [result],
    },
  };
}
