/**
 * The edge every printing CLI shares (`npm run failover`, `lineage`, `dsr`): a usage error or one
 * of parseArgs' own prints its message and the usage text, an expected error its message only,
 * both to stderr with exit 1; anything else is a bug and is thrown with its stack.
 */

/** A command line the usage text answers. */
export class UsageError extends Error {}

/** parseArgs rejects an unknown or malformed flag with a TypeError coded ERR_PARSE_ARGS_*. */
const isParseArgsError = (err: unknown): err is TypeError =>
  err instanceof TypeError &&
  String((err as { code?: unknown }).code ?? '').startsWith('ERR_PARSE_ARGS_');

/** Runs `main`; errors of the `expected` classes (and usage errors) end it with exit 1. */
export function runCli(
  main: () => void,
  usage: string,
  expected: readonly (abstract new (...args: never[]) => Error)[],
): void {
  try {
    main();
  } catch (err) {
    const isUsage = err instanceof UsageError || isParseArgsError(err);
    if (!isUsage && !expected.some((E) => err instanceof E)) throw err;
    process.stderr.write(`${(err as Error).message}\n${isUsage ? usage : ''}`);
    process.exit(1);
  }
}
