/**
 * Reads what `npm run synth` wrote: the CloudFormation templates and their construct metadata in
 * `cdk.out/`, the residency plan the Lambdas carry (the plan layer's asset) and the Cloudflare
 * pools in `cdktf.out/`. The report is built from this, not from `regions/`, so it shows what
 * will really be deployed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ResidencyPlan } from '../../../lambda/shared/residency-plan';
import { DEFAULT_PLAN_FILE } from '../../../lambda/shared/residency-plan-file';

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
}

export interface CfnTemplate {
  readonly Resources?: Record<string, CfnResource>;
}

/** One acknowledged finding: the construct, the rule (`<pack>::<rule>`) and its reason. */
export interface Acknowledged {
  readonly constructPath: string;
  readonly id: string;
  readonly reason: string;
}

export interface StackArtifact {
  readonly id: string;
  readonly region: string;
  readonly templateFile: string;
  readonly template: CfnTemplate;
  readonly acknowledged: readonly Acknowledged[];
}

/**
 * What a rule says, from `cdk.out/validation-report.json` (written by every synth): its
 * description and the framework controls the pack maps it to (`Control ID(s): …` in the
 * description of the HIPAA, NIST 800-53 R5 and PCI DSS packs).
 */
export interface RuleInfo {
  readonly description: string;
  readonly controls: readonly string[];
}

export interface EdgePool {
  readonly name: string;
  readonly origins: readonly string[];
  readonly enabled: boolean;
}

export interface Assembly {
  /**
   * The environment the stacks were synthesized for: the `meridian:env` tag every stack's
   * resources carry. Absent when no resource carries it (an assembly from elsewhere).
   */
  readonly env?: string;
  readonly stacks: readonly StackArtifact[];
  /** The residency plan from the plan layer asset (the one the sync Lambdas decide with). */
  readonly plan?: ResidencyPlan;
  readonly planAsset?: string;
  /** Cloudflare pools from the cdktf output, when it is there. */
  readonly pools: readonly EdgePool[];
  /** By `<pack>::<rule>` without its `[detail]`; empty without a validation report. */
  readonly rules: ReadonlyMap<string, RuleInfo>;
}

interface Manifest {
  artifacts?: Record<
    string,
    {
      type: string;
      environment?: string;
      properties?: { templateFile?: string };
      additionalMetadataFile?: string;
      metadata?: Record<string, { type: string; data: unknown }[]>;
    }
  >;
}

const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, 'utf8')) as T;

/** Reads a cloud assembly directory (and, when given, a cdktf output directory). */
export function readAssembly(cdkOut: string, cdktfOut?: string): Assembly {
  const manifestFile = path.join(cdkOut, 'manifest.json');
  if (!fs.existsSync(manifestFile))
    throw new Error(
      `${cdkOut} holds no cloud assembly (manifest.json): run \`npm run synth\` first`,
    );
  const manifest = readJson<Manifest>(manifestFile);
  const stacks: StackArtifact[] = [];
  for (const [id, a] of Object.entries(manifest.artifacts ?? {}).sort(([x], [y]) =>
    x.localeCompare(y),
  )) {
    if (a.type !== 'aws:cloudformation:stack' || !a.properties?.templateFile) continue;
    const metadata: Record<string, { type: string; data: unknown }[]> = {
      ...(a.metadata ?? {}),
      ...(a.additionalMetadataFile && fs.existsSync(path.join(cdkOut, a.additionalMetadataFile))
        ? readJson<Record<string, { type: string; data: unknown }[]>>(
            path.join(cdkOut, a.additionalMetadataFile),
          )
        : {}),
    };
    const acknowledged: Acknowledged[] = [];
    for (const [constructPath, entries] of Object.entries(metadata))
      for (const e of entries)
        if (e.type === 'aws:cdk:acknowledged-rules' && e.data && typeof e.data === 'object')
          for (const [rule, reason] of Object.entries(e.data as Record<string, string>))
            acknowledged.push({
              constructPath: constructPath.replace(/^\//, ''),
              id: rule,
              reason,
            });
    stacks.push({
      id,
      region: a.environment?.split('/').pop() ?? 'unknown',
      templateFile: a.properties.templateFile,
      template: readJson<CfnTemplate>(path.join(cdkOut, a.properties.templateFile)),
      acknowledged,
    });
  }

  // The plan: the asset of the layer whose content is the residency plan file.
  let plan: ResidencyPlan | undefined;
  let planAsset: string | undefined;
  for (const s of stacks) {
    for (const r of Object.values(s.template.Resources ?? {})) {
      if (r.Type !== 'AWS::Lambda::LayerVersion') continue;
      // The asset folder: from the asset metadata (CLI synth), else from the content hash.
      const key = String((r.Properties?.Content as { S3Key?: unknown } | undefined)?.S3Key ?? '');
      const asset =
        typeof r.Metadata?.['aws:asset:path'] === 'string'
          ? r.Metadata['aws:asset:path']
          : `asset.${key.replace(/\.zip$/, '')}`;
      const file = path.join(cdkOut, asset, path.relative('/opt', DEFAULT_PLAN_FILE));
      if (fs.existsSync(file)) {
        plan = readJson<ResidencyPlan>(file);
        planAsset = asset;
        break;
      }
    }
    if (plan) break;
  }

  const envTag = environmentOf(stacks);
  // The edge stack of the same environment (cdktf.out may hold other environments' stacks).
  const pools: EdgePool[] = [];
  if (cdktfOut && fs.existsSync(path.join(cdktfOut, 'stacks'))) {
    for (const dir of fs
      .readdirSync(path.join(cdktfOut, 'stacks'))
      .filter((d) => !envTag || d.endsWith(`-edge-${envTag}`))
      .sort()) {
      const file = path.join(cdktfOut, 'stacks', dir, 'cdk.tf.json');
      if (!fs.existsSync(file)) continue;
      const tf = readJson<{ resource?: Record<string, Record<string, Record<string, unknown>>> }>(
        file,
      );
      for (const p of Object.values(tf.resource?.cloudflare_load_balancer_pool ?? {})) {
        pools.push({
          name: String(p.name),
          origins: ((p.origins as { address?: string; name?: string }[] | undefined) ?? []).map(
            (o) => String(o.name ?? o.address),
          ),
          enabled: p.enabled !== false,
        });
      }
    }
  }
  pools.sort((a, b) => a.name.localeCompare(b.name));
  return {
    ...(envTag ? { env: envTag } : {}),
    stacks,
    plan,
    planAsset,
    pools,
    rules: rulesOf(path.join(cdkOut, 'validation-report.json')),
  };
}

/**
 * The one environment of the stacks, from their `meridian:env` tags; an assembly whose stacks
 * disagree is refused (a report of it would describe no environment).
 */
function environmentOf(stacks: readonly StackArtifact[]): string | undefined {
  const envs = new Map<string, string>();
  for (const s of stacks) {
    const env = Object.values(s.template.Resources ?? {})
      .map((r) => r.Properties?.Tags)
      .flatMap((tags) => (Array.isArray(tags) ? (tags as { Key: string; Value: string }[]) : []))
      .find((t) => t.Key === 'meridian:env')?.Value;
    if (env) envs.set(env, envs.get(env) ?? s.id);
  }
  if (envs.size > 1)
    throw new Error(
      `the assembly holds stacks of several environments (${[...envs].map(([e, s]) => `${e}: ${s}`).join(', ')}): synthesize one environment into its own directory`,
    );
  return [...envs.keys()][0];
}

/** The report file (without extension) of an environment: prod's is `compliance`. */
export function reportName(env: string | undefined): string {
  return env === undefined || env === 'prod' ? 'compliance' : `compliance-${env}`;
}

/** The rules of the validation report, by `<pack>::<rule>` (the id acknowledgements use). */
function rulesOf(file: string): Map<string, RuleInfo> {
  const rules = new Map<string, RuleInfo>();
  if (!fs.existsSync(file)) return rules;
  const report = readJson<{
    pluginReports?: {
      pluginName: string;
      violations?: { ruleName: string; description?: string }[];
      suppressedViolations?: { ruleName: string; description?: string }[];
    }[];
  }>(file);
  for (const plugin of report.pluginReports ?? [])
    for (const v of [...(plugin.violations ?? []), ...(plugin.suppressedViolations ?? [])]) {
      const key = `${plugin.pluginName}::${v.ruleName.replace(/\[.*$/, '')}`;
      if (rules.has(key)) continue;
      const text = v.description ?? '';
      const ids = /\(Control IDs?: ([^)]*(?:\([^)]*\)[^)]*)*)\)\.?$/.exec(text);
      rules.set(key, {
        description: (ids ? text.slice(0, ids.index) : text).replace(/\s*-\s*$/, '').trim(),
        controls: ids?.[1] ? ids[1].split(/,\s*/).filter(Boolean) : [],
      });
    }
  return rules;
}
