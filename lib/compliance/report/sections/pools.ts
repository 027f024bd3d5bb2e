/** The Cloudflare pools of the cdktf output. */
import type { EdgePool } from '../assembly';
import type { Section } from '../section';

export function poolsSection(pools: readonly EdgePool[]): Section {
  return {
    id: 'edge',
    title: 'Cloudflare pools',
    intro: 'From the cdktf output (`cdktf.out/`): one pool per region, plus the holding pool.',
    table: {
      columns: ['Pool', 'Origins', 'Enabled'],
      rows: pools.map((p) => [p.name, p.origins.join(', '), p.enabled ? 'yes' : 'no']),
    },
  };
}
