import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CloudFormationValidatePlugin,
  type IPolicyValidationContext,
  type PolicyValidationPluginReport,
  type PolicyViolation,
} from 'aws-cdk-lib';
import { PROJECT_ROOT } from '../functions/bundle';

/** Where results are kept by default: beside the guard's, wiped with `.build/`. */
export const DEFAULT_TEMPLATE_VALIDATION_CACHE = path.join(
  PROJECT_ROOT,
  '.build',
  'template-validation-cache',
);

/**
 * aws-cdk-lib's own CloudFormation template validation (resource schemas and the default rules,
 * a wasm engine: ~5 s of a prod synth on 2 cores), remembered by content. A template whose text,
 * account and region were validated by the same engine version before is not validated again;
 * the others are validated together in one run, as the built-in plugin would.
 *
 * It extends the built-in plugin, so registering it on the app replaces the default instance
 * (never both), and its findings keep the built-in plugin's name: with
 * `@aws-cdk/core:validateAgainstDefaultRules` (cdk.json) they stay errors that fail synth.
 */
export class CachedTemplateValidation extends CloudFormationValidatePlugin {
  private readonly cacheDir?: string;

  /**
   * @param options.cache - the cache folder: @default `.build/template-validation-cache`;
   *   `false` validates every template every time
   */
  constructor(options: { readonly cache?: string | false } = {}) {
    super();
    this.cacheDir =
      options.cache === false ? undefined : (options.cache ?? DEFAULT_TEMPLATE_VALIDATION_CACHE);
  }

  override validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const violations: PolicyViolation[] = [];
    const misses: { stack: (typeof context.stackTemplates)[number]; cacheFile?: string }[] = [];
    for (const stack of context.stackTemplates) {
      const hash = crypto
        .createHash('sha256')
        .update(`${this.version ?? 'unknown'}\u0000${stack.accountId}\u0000${stack.region}\u0000`)
        .update(fs.readFileSync(stack.templatePath));
      const cacheFile = this.cacheDir && path.join(this.cacheDir, `${hash.digest('hex')}.json`);
      if (cacheFile && fs.existsSync(cacheFile)) {
        // Findings are stored without their template's path (the output folder differs per run).
        const stored = JSON.parse(fs.readFileSync(cacheFile, 'utf8')) as PolicyViolation[];
        violations.push(...stored.map((v) => inTemplate(v, stack.templatePath)));
      } else misses.push({ stack, cacheFile });
    }
    if (misses.length > 0) {
      const paths = misses.map((m) => m.stack.templatePath);
      const fresh = super.validate({
        ...context,
        templatePaths: paths,
        stackTemplates: misses.map((m) => m.stack),
      });
      violations.push(...fresh.violations);
      for (const { stack, cacheFile } of misses) {
        if (!cacheFile) continue;
        const own = fresh.violations.flatMap((v) => {
          const resources = v.violatingResources.filter(
            (r) => r.templatePath === stack.templatePath,
          );
          return resources.length > 0 ? [inTemplate({ ...v, violatingResources: resources })] : [];
        });
        fs.mkdirSync(path.dirname(cacheFile), { recursive: true });
        fs.writeFileSync(cacheFile, JSON.stringify(own));
      }
    }
    return { success: violations.length === 0, violations };
  }
}

/** `v` with every resource's template path set to `templatePath` (or removed). */
function inTemplate(v: PolicyViolation, templatePath?: string): PolicyViolation {
  return {
    ...v,
    violatingResources: v.violatingResources.map((r) => ({ ...r, templatePath })),
  };
}
