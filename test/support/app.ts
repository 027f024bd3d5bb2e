import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildMeridian, cdkContext } from '../../lib/app';
import type { MeridianConfig } from '../../lib/config/load';
import type { RegionalStack } from '../../lib/regional-stack';

export interface BuiltApp {
  readonly app: App;
  readonly stacks: readonly RegionalStack[];
  template(region: string): Template;
}

/**
 * Builds the app for a config without the rule packs and without aws-cdk-lib's own template
 * validation (a wasm engine: ~9 s of an eight-region test app on 2 cores). Both run on every
 * template in `npm run test:synth`; the tests here are about what the templates say.
 */
export function buildApp(config: MeridianConfig): BuiltApp {
  const app = new App({ context: cdkContext(), builtinCloudFormationValidation: false });
  const stacks = buildMeridian(app, config, { compliance: false });
  const templates = new Map<string, Template>();
  return {
    app,
    stacks,
    template(region) {
      const stack = stacks.find((s) => s.region === region);
      if (!stack) throw new Error(`no stack for ${region}`);
      let t = templates.get(region);
      if (!t) {
        t = Template.fromStack(stack);
        templates.set(region, t);
      }
      return t;
    },
  };
}
