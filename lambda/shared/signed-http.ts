/**
 * SigV4-signed HTTPS requests to an OpenSearch Service domain's REST API (service `es`): the one
 * signing path for the replication custom resource (`_plugins/_replication/_autofollow`) and the
 * failover runbook (`_plugins/_replication/<index>/_stop`, `_start`, stats). Requests are signed as
 * the domain's fine-grained access control master role, assumed once and reused until a minute
 * before it expires (see {@link assumedRoleCredentials}).
 *
 * The query string is signed as a query, not as part of the path: SigV4's canonical request
 * carries them separately, and a `?` inside the signed path is a signature the domain refuses.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

export interface HttpResponse {
  readonly status: number;
  readonly body: string;
}

export type HttpMethod = 'GET' | 'PUT' | 'POST' | 'DELETE';

/**
 * One signed request to one domain: `path` may carry a query (`/_cat/indices?format=json`); a
 * `body` is sent as JSON, none is sent when it is undefined (GET). Network failures and the
 * timeout are thrown as `fetch` throws them (TypeError `fetch failed`, DOMException TimeoutError).
 */
export type SignedHttp = (
  method: HttpMethod,
  path: string,
  body?: unknown,
) => Promise<HttpResponse>;

type Credentials = ConstructorParameters<typeof SignatureV4>[0]['credentials'];

export interface SignedHttpOptions {
  /** HTTPS host of the domain (its VPC endpoint). */
  readonly endpoint: string;
  /** The domain's region (the signing region). */
  readonly region: string;
  readonly credentials: Credentials;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Abort a request after this long; @default - no limit beyond the function's own timeout */
  readonly timeoutMs?: number;
}

export function signedHttp(options: SignedHttpOptions): SignedHttp {
  const signer = new SignatureV4({
    service: 'es',
    region: options.region,
    credentials: options.credentials,
    sha256: Sha256,
  });
  const host = options.endpoint;
  return async (method, target, body) => {
    const q = target.indexOf('?');
    const path = q < 0 ? target : target.slice(0, q);
    const query = q < 0 ? {} : Object.fromEntries(new URLSearchParams(target.slice(q + 1)));
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const signed = await signer.sign(
      new HttpRequest({
        method,
        protocol: 'https:',
        hostname: host,
        path,
        query,
        ...(payload !== undefined ? { body: payload } : {}),
        headers: {
          host,
          ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
        },
      }),
    );
    const send = options.fetch ?? globalThis.fetch;
    const res = await send(`https://${host}${target}`, {
      method,
      headers: signed.headers as Record<string, string>,
      ...(payload !== undefined ? { body: payload } : {}),
      ...(options.timeoutMs ? { signal: AbortSignal.timeout(options.timeoutMs) } : {}),
    });
    return { status: res.status, body: await res.text() };
  };
}

/**
 * Credentials of `roleArn`, assumed on first use and again a minute before they expire (a custom
 * resource or a runbook step makes a handful of calls within one session).
 */
export function assumedRoleCredentials(
  sts: STSClient,
  roleArn: string,
  sessionName: string,
  durationSeconds = 900,
): () => Promise<{
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}> {
  let cached: Awaited<ReturnType<typeof assume>> | undefined;
  const assume = async () => {
    const out = await sts.send(
      new AssumeRoleCommand({
        RoleArn: roleArn,
        RoleSessionName: sessionName,
        DurationSeconds: durationSeconds,
      }),
    );
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error(`could not assume ${roleArn}`);
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}),
      ...(c.Expiration ? { expiration: c.Expiration } : {}),
    };
  };
  return async () => {
    if (!cached || (cached.expiration?.getTime() ?? 0) - Date.now() < 60_000)
      cached = await assume();
    return cached;
  };
}
