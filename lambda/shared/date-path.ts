/** `yyyy/mm/dd` (UTC) of `at`: the day part of every audit object's key (sync, failover, dsr). */
export function datePath(at: Date): string {
  const d = at.toISOString();
  return `${d.slice(0, 4)}/${d.slice(5, 7)}/${d.slice(8, 10)}`;
}
