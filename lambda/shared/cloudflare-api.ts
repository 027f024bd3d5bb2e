/** The little of the Cloudflare v4 API Meridian calls at run time (account-scoped paths). */

export class CloudflareApiError extends Error {
  override readonly name = 'CloudflareApiError';
}

/** The bearer token in a secret value: `{"tokenId","token"}` JSON, or the bare token. */
export function tokenFromSecret(value: string | undefined): string {
  try {
    const v = JSON.parse(value ?? '') as { token?: unknown };
    if (typeof v.token === 'string') return v.token;
  } catch {
    // a bare token
  }
  return value ?? '';
}

/** `<method> /accounts/<account><path>`; returns `result`, throws CloudflareApiError otherwise. */
export async function cloudflareApi(
  fetchFn: typeof fetch,
  accountId: string,
  token: string,
  path: string,
  init: { method?: string; body?: string } = {},
): Promise<unknown> {
  const method = init.method ?? 'GET';
  const res = await fetchFn(`https://api.cloudflare.com/client/v4/accounts/${accountId}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(init.body !== undefined ? { body: init.body } : {}),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await res.json()) as {
    success: boolean;
    result: unknown;
    errors?: { message: string }[];
  };
  if (!res.ok || !body.success)
    throw new CloudflareApiError(
      `Cloudflare ${method} ${path}: HTTP ${res.status} ${body.errors?.map((e) => e.message).join('; ') ?? ''}`,
    );
  return body.result;
}
