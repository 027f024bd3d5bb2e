/**
 * The replication diagram, twice from the same facts: Mermaid for the Markdown (GitHub renders it)
 * and an inline SVG for the HTML, laid out here at report time (no browser, no network).
 *
 * What a reviewer asks of it is where data crosses a border, so it draws jurisdictions, not every
 * edge: one box per jurisdiction holding its regions and naming the kinds of copy kept inside it
 * (Aurora Global, Global Datastore, S3, search, secrets, the lock table, sync); one labelled arrow
 * per direction between two jurisdictions that personal data crosses, with its classes, mode
 * (full or masked) and legal basis; a dashed line between two jurisdictions that only data
 * identifying no one crosses. The per-edge table below it keeps every edge.
 */
import type { EdgeKind, RegionInfo } from './model';
import { type Edge, KIND_LABEL } from './sections/edges';
import { basisShort, type Transfer } from './sections/transfers';

/** One jurisdiction: its regions and the kinds of copy kept between them. */
export interface DiagramCell {
  readonly jurisdiction: string;
  readonly regions: readonly RegionInfo[];
  readonly inside: readonly EdgeKind[];
}

/** Personal data crossing from one jurisdiction to another, as the arrow's label says. */
export interface DiagramCrossing {
  readonly from: string;
  readonly to: string;
  /** `pii masked · consent`, one entry per class (with its basis). */
  readonly label: string;
}

export interface Diagram {
  readonly cells: readonly DiagramCell[];
  readonly crossings: readonly DiagramCrossing[];
  /** Unordered pairs (sorted) that only data identifying no one crosses. */
  readonly nonPersonal: readonly (readonly [string, string])[];
}

export function diagramOf(
  regions: readonly RegionInfo[],
  edges: readonly Edge[],
  transfers: readonly Transfer[],
): Diagram {
  const jOf = new Map(regions.map((r) => [r.region, r.jurisdiction]));
  const cells = [...new Set(regions.map((r) => r.jurisdiction))].sort().map((j) => ({
    jurisdiction: j,
    regions: regions.filter((r) => r.jurisdiction === j),
    inside: [
      ...new Set(
        edges.filter((e) => jOf.get(e.from) === j && jOf.get(e.to) === j).map((e) => e.kind),
      ),
    ].sort(),
  }));
  const personal = new Map<string, string[]>();
  const pairs = new Set<string>();
  for (const t of transfers) {
    if (t.basis?.basis === 'not-personal-data') {
      pairs.add([t.from, t.to].sort().join('\u0000'));
      continue;
    }
    const basis = basisShort(t.basis);
    const key = `${t.from}\u0000${t.to}`;
    personal.set(key, [
      ...(personal.get(key) ?? []),
      ...t.classes.map((c) => `${c.dataClass} ${c.mode} · ${basis}`),
    ]);
  }
  const crossings = [...personal.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, labels]) => {
      const [from = '', to = ''] = key.split('\u0000');
      return { from, to, label: labels.sort().join('; ') };
    });
  const crossed = new Set(crossings.map((c) => [c.from, c.to].sort().join('\u0000')));
  const nonPersonal = [...pairs]
    .filter((p) => !crossed.has(p))
    .sort()
    .map((p) => p.split('\u0000') as [string, string]);
  return { cells, crossings, nonPersonal };
}

const nodeId = (s: string) => s.replace(/[^A-Za-z0-9]/g, '_');
const quote = (s: string) => s.replace(/"/g, '#quot;');

export function mermaid(d: Diagram): string {
  const lines = ['flowchart LR'];
  for (const c of d.cells) {
    lines.push(`  subgraph j_${nodeId(c.jurisdiction)}["${quote(c.jurisdiction)}"]`);
    for (const r of c.regions) lines.push(`    ${nodeId(r.region)}["${r.region} (${r.tier})"]`);
    lines.push('  end');
  }
  for (const x of d.crossings)
    lines.push(`  j_${nodeId(x.from)} -->|"${quote(x.label)}"| j_${nodeId(x.to)}`);
  for (const [a, b] of d.nonPersonal)
    lines.push(`  j_${nodeId(a)} -.-|"not personal data"| j_${nodeId(b)}`);
  return lines.join('\n');
}

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * Jurisdiction boxes on a circle; each crossing an arrow from box edge to box edge (the two
 * directions of a pair side by side), its label at the middle on a white backing; dashed lines for
 * pairs only non-personal data crosses. Every crossing is one `<path class="crossing">` with
 * data-from/to, so a test can count them and check that they are drawn.
 */
export function svg(d: Diagram): string {
  const n = d.cells.length;
  const boxW = 230;
  /** Kinds of copy named per line inside a box. */
  const perLine = 2;
  const boxH = (c: DiagramCell) =>
    46 + 18 * c.regions.length + 14 * Math.ceil(c.inside.length / perLine);
  const size = n <= 2 ? 640 : 860;
  const cx = size / 2;
  const cy = size / 2;
  const radius = n <= 1 ? 0 : size / 2 - 150;
  const f = (v: number) => v.toFixed(1);
  const centre = new Map<string, { x: number; y: number; w: number; h: number }>();
  d.cells.forEach((c, i) => {
    const angle = (2 * Math.PI * i) / Math.max(1, n) - Math.PI / 2;
    centre.set(c.jurisdiction, {
      x: cx + radius * Math.cos(angle),
      y: cy + radius * Math.sin(angle),
      w: boxW,
      h: boxH(c),
    });
  });
  /** Where the segment from the box's centre towards (tx, ty) leaves the box. */
  const exit = (b: { x: number; y: number; w: number; h: number }, tx: number, ty: number) => {
    const dx = tx - b.x;
    const dy = ty - b.y;
    const s = Math.min(
      dx === 0 ? Infinity : b.w / 2 / Math.abs(dx),
      dy === 0 ? Infinity : b.h / 2 / Math.abs(dy),
    );
    return { x: b.x + dx * s, y: b.y + dy * s };
  };
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" id="replication-diagram" viewBox="0 0 ${size} ${size + 50}" width="${size}" height="${size + 50}" role="img" aria-label="Where data crosses between jurisdictions">`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#c0392b"/></marker></defs>',
  ];
  for (const [a, b] of d.nonPersonal) {
    const p = centre.get(a);
    const q = centre.get(b);
    if (!p || !q) continue;
    const s = exit(p, q.x, q.y);
    const e = exit(q, p.x, p.y);
    parts.push(
      `<path class="non-personal" data-from="${a}" data-to="${b}" d="M ${f(s.x)} ${f(s.y)} L ${f(e.x)} ${f(e.y)}" stroke="#999" stroke-width="1.2" stroke-dasharray="5 4" fill="none"><title>${esc(`${a} ↔ ${b}: only data that identifies no one`)}</title></path>`,
    );
  }
  const labels: string[] = [];
  for (const x of d.crossings) {
    const p = centre.get(x.from);
    const q = centre.get(x.to);
    if (!p || !q) continue;
    // The two directions of a pair run side by side: offset each to its own right.
    const len = Math.hypot(q.x - p.x, q.y - p.y) || 1;
    const ox = (-(q.y - p.y) / len) * 9;
    const oy = ((q.x - p.x) / len) * 9;
    const s = exit(p, q.x, q.y);
    const e = exit(q, p.x, p.y);
    const start = { x: s.x + ox, y: s.y + oy };
    const end = { x: e.x + ox, y: e.y + oy };
    parts.push(
      `<path class="crossing" data-from="${x.from}" data-to="${x.to}" d="M ${f(start.x)} ${f(start.y)} L ${f(end.x)} ${f(end.y)}" stroke="#c0392b" stroke-width="2.2" fill="none" marker-end="url(#arrow)"><title>${esc(`${x.from} → ${x.to}: ${x.label}`)}</title></path>`,
    );
    const mx = (start.x + end.x) / 2 + ox * 2;
    const my = (start.y + end.y) / 2 + oy * 2;
    const text = `${x.from} → ${x.to}: ${x.label}`;
    const w = 6.2 * text.length + 10;
    labels.push(
      `<g class="crossing-label"><rect x="${f(mx - w / 2)}" y="${f(my - 10)}" width="${f(w)}" height="18" rx="3" fill="#fff" stroke="#c0392b" stroke-width="0.6"/><text x="${f(mx)}" y="${f(my + 3)}" text-anchor="middle" font-size="11" font-family="sans-serif" fill="#922b21">${esc(text)}</text></g>`,
    );
  }
  for (const c of d.cells) {
    const b = centre.get(c.jurisdiction);
    if (!b) continue;
    const x0 = b.x - b.w / 2;
    const y0 = b.y - b.h / 2;
    parts.push(
      `<g class="jurisdiction" data-jurisdiction="${c.jurisdiction}"><rect x="${f(x0)}" y="${f(y0)}" width="${b.w}" height="${b.h}" rx="8" fill="#f4f7fb" stroke="#34495e" stroke-width="1.4"/><text x="${f(b.x)}" y="${f(y0 + 18)}" text-anchor="middle" font-size="13" font-weight="bold" font-family="sans-serif">${esc(c.jurisdiction)}</text>`,
    );
    c.regions.forEach((r, i) => {
      parts.push(
        `<text class="region" data-region="${r.region}" x="${f(b.x)}" y="${f(y0 + 38 + 18 * i)}" text-anchor="middle" font-size="11" font-family="sans-serif">${esc(`${r.region} (${r.tier})`)}</text>`,
      );
    });
    const inside = c.inside.map((k) => KIND_LABEL[k]);
    for (let i = 0; i < inside.length; i += perLine)
      parts.push(
        `<text x="${f(b.x)}" y="${f(y0 + 38 + 18 * c.regions.length + 4 + 14 * (i / perLine))}" text-anchor="middle" font-size="9" font-family="sans-serif" fill="#555">${esc(`${i === 0 ? 'inside: ' : ''}${inside.slice(i, i + perLine).join(', ')}`)}</text>`,
      );
    parts.push('</g>');
  }
  parts.push(...labels);
  parts.push(
    `<g class="legend"><line x1="10" y1="${size + 14}" x2="40" y2="${size + 14}" stroke="#c0392b" stroke-width="2.2"/><text x="46" y="${size + 18}" font-size="11" font-family="sans-serif">personal data crosses: classes, mode, legal basis</text><line x1="10" y1="${size + 34}" x2="40" y2="${size + 34}" stroke="#999" stroke-width="1.2" stroke-dasharray="5 4"/><text x="46" y="${size + 38}" font-size="11" font-family="sans-serif">only data that identifies no one crosses (personalData: false)</text></g>`,
    '</svg>',
  );
  return parts.join('\n');
}
