import * as fs from 'node:fs';
import type { IPolicyValidationPlugin } from 'aws-cdk-lib';

/**
 * Where a synth's time goes, phase by phase (ms), for the bench's breakdown. Recording costs a
 * clock read per phase; the file is written only when `MERIDIAN_SYNTH_TIMINGS` names one.
 */
export class SynthTimings {
  private readonly phases: { phase: string; ms: number }[] = [];
  private readonly started = performance.now();

  /** Runs `fn`, adding its duration to `phase`. */
  time<T>(phase: string, fn: () => T): T {
    const t = performance.now();
    try {
      return fn();
    } finally {
      this.add(phase, performance.now() - t);
    }
  }

  add(phase: string, ms: number): void {
    const known = this.phases.find((p) => p.phase === phase);
    if (known) known.ms += ms;
    else this.phases.push({ phase, ms });
  }

  /**
   * `plugin`, with each validate() timed as `validate: <name>`. A Proxy, so `instanceof` still
   * holds (aws-cdk-lib recognises its own template validation plugin that way).
   */
  plugin<P extends IPolicyValidationPlugin>(plugin: P): P {
    return new Proxy(plugin, {
      get: (target, key, receiver) => {
        const value = Reflect.get(target, key, receiver);
        if (key !== 'validate' || typeof value !== 'function') return value;
        return (...args: unknown[]) =>
          this.time(`validate: ${target.name}`, () => value.apply(target, args));
      },
    });
  }

  /** The phases so far plus the total since this object was made. */
  report(): { phase: string; ms: number }[] {
    return [...this.phases, { phase: 'total (in the app)', ms: performance.now() - this.started }];
  }

  /** Writes the report to `MERIDIAN_SYNTH_TIMINGS` when it is set. */
  writeIfAsked(env: NodeJS.ProcessEnv = process.env): void {
    const file = env.MERIDIAN_SYNTH_TIMINGS;
    if (file) fs.writeFileSync(file, `${JSON.stringify(this.report(), null, 2)}\n`);
  }
}
