/**
 * The replication diagram, twice from the same edge list: Mermaid for the Markdown (GitHub renders
 * it) and an inline SVG for the HTML, laid out here at report time (no browser, no network).
 * One diagram edge per (kind, from, to); the tables list what travels on each.
 */
import type { Edge, EdgeKind, RegionInfo } from './model';
import { KIND_LABEL } from './sections/edges';

export interface DiagramEdge {
  readonly kind: EdgeKind;
  readonly from: string;
  readonly to: string;
}

const KIND_COLOUR: Record<EdgeKind, string> = {
  aurora: '#1f77b4',
  cache: '#d62728',
  s3: '#2ca02c',
  opensearch: '#9467bd',
  secret: '#8c564b',
  dynamodb: '#e377c2',
  sync: '#ff7f0e',
};

/** The distinct (kind, from, to) triples, sorted. */
export function diagramEdges(edges: readonly Edge[]): DiagramEdge[] {
  const seen = new Map<string, DiagramEdge>();
  for (const e of edges)
    seen.set(`${e.kind}|${e.from}|${e.to}`, { kind: e.kind, from: e.from, to: e.to });
  return [...seen.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, e]) => e);
}

const nodeId = (region: string) => region.replace(/-/g, '_');

export function mermaid(regions: readonly RegionInfo[], edges: readonly DiagramEdge[]): string {
  const lines = ['flowchart LR'];
  const byJ = new Map<string, RegionInfo[]>();
  for (const r of regions) byJ.set(r.jurisdiction, [...(byJ.get(r.jurisdiction) ?? []), r]);
  for (const [j, rs] of [...byJ.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`  subgraph ${j}["${j}"]`);
    for (const r of rs) lines.push(`    ${nodeId(r.region)}["${r.region} (${r.tier})"]`);
    lines.push('  end');
  }
  for (const e of edges) lines.push(`  ${nodeId(e.from)} -->|${e.kind}| ${nodeId(e.to)}`);
  return lines.join('\n');
}

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * Regions on a circle, grouped by jurisdiction; each edge a curve bent towards the centre, its
 * colour by kind, parallel edges of different kinds fanned apart. Every edge is one
 * `<path class="edge">` with data-kind/from/to, so a test can count and check them.
 */
export function svg(regions: readonly RegionInfo[], edges: readonly DiagramEdge[]): string {
  const ordered = [...regions].sort(
    (a, b) => a.jurisdiction.localeCompare(b.jurisdiction) || a.region.localeCompare(b.region),
  );
  const size = 760;
  const c = size / 2;
  const radius = size / 2 - 110;
  const pos = new Map<string, { x: number; y: number }>();
  ordered.forEach((r, i) => {
    const angle = (2 * Math.PI * i) / Math.max(1, ordered.length) - Math.PI / 2;
    pos.set(r.region, { x: c + radius * Math.cos(angle), y: c + radius * Math.sin(angle) });
  });
  const f = (n: number) => n.toFixed(1);
  const kinds = [...new Set(edges.map((e) => e.kind))].sort();
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" id="replication-diagram" viewBox="0 0 ${size} ${size + 40 + kinds.length * 0}" width="${size}" height="${size + 40}" role="img" aria-label="Replication edges between regions">`,
    '<defs>',
    ...kinds.map(
      (k) =>
        `<marker id="arrow-${k}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="${KIND_COLOUR[k]}"/></marker>`,
    ),
    '</defs>',
  ];
  const pairIndex = new Map<string, number>();
  for (const e of edges) {
    const a = pos.get(e.from);
    const b = pos.get(e.to);
    if (!a || !b) continue;
    const pair = `${e.from}|${e.to}`;
    const n = pairIndex.get(pair) ?? 0;
    pairIndex.set(pair, n + 1);
    // Shorten to the node circles (radius 34) and bend: more for each further kind on the pair.
    const dx = b.x - a.x;
    const dy = b.y - a.y;
    const len = Math.hypot(dx, dy) || 1;
    const ux = dx / len;
    const uy = dy / len;
    const start = { x: a.x + ux * 36, y: a.y + uy * 36 };
    const end = { x: b.x - ux * 36, y: b.y - uy * 36 };
    const bend = 0.18 + 0.09 * n;
    const ctrl = {
      x: (start.x + end.x) / 2 - uy * len * bend,
      y: (start.y + end.y) / 2 + ux * len * bend,
    };
    parts.push(
      `<path class="edge" data-kind="${e.kind}" data-from="${e.from}" data-to="${e.to}" d="M ${f(start.x)} ${f(start.y)} Q ${f(ctrl.x)} ${f(ctrl.y)} ${f(end.x)} ${f(end.y)}" fill="none" stroke="${KIND_COLOUR[e.kind]}" stroke-width="1.6" stroke-opacity="0.75" marker-end="url(#arrow-${e.kind})"><title>${esc(`${KIND_LABEL[e.kind]}: ${e.from} → ${e.to}`)}</title></path>`,
    );
  }
  for (const r of ordered) {
    const p = pos.get(r.region);
    if (!p) continue;
    parts.push(
      `<g class="region" data-region="${r.region}"><circle cx="${f(p.x)}" cy="${f(p.y)}" r="34" fill="#f7f7f7" stroke="#333"/><text x="${f(p.x)}" y="${f(p.y - 3)}" text-anchor="middle" font-size="11" font-family="sans-serif">${esc(r.region)}</text><text x="${f(p.x)}" y="${f(p.y + 11)}" text-anchor="middle" font-size="10" font-family="sans-serif" fill="#555">${esc(`${r.jurisdiction} · ${r.tier}`)}</text></g>`,
    );
  }
  kinds.forEach((k, i) => {
    const x = 10 + (i % 4) * 185;
    const y = size + 8 + Math.floor(i / 4) * 16;
    parts.push(
      `<g class="legend"><line x1="${x}" y1="${y}" x2="${x + 24}" y2="${y}" stroke="${KIND_COLOUR[k]}" stroke-width="3"/><text x="${x + 30}" y="${y + 4}" font-size="11" font-family="sans-serif">${esc(KIND_LABEL[k])}</text></g>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}
