/**
 * The analysis report: Markdown and a standalone HTML page (charts inlined as SVG) from an analysis, its insights
 * and its charts.
 */

interface Finding {
  severity: string;
  title: string;
  explanation: string;
  suggestion: string;
  target: string;
}

export interface ReportInput {
  title: string;
  analysis?:
    | {
        path?: string;
        totals: Record<string, number>;
        languages?: Record<string, { files: number; lines: number; code: number; comment: number; blank: number }>;
        complexFunctions?: {
          file: string;
          name: string;
          line: number;
          complexity: number;
          lines: number;
          nesting: number;
        }[];
        largestFiles?: { path: string; lines: number }[];
        skipped?: Record<string, unknown>;
      }
    | undefined;
  insights?:
    | { summary?: string; findings?: Finding[]; model?: { text?: string; model?: string; error?: string } | null }
    | undefined;
  /** Charts: the path relative to the report (Markdown) and the SVG text (embedded in the HTML). */
  charts: { link: string; svg: string | null }[];
  generatedAt: string;
}

const esc = (s: unknown): string =>
  String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const cell = (s: unknown): string => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');

function tables(r: ReportInput): { heading: string; head: string[]; rows: unknown[][] }[] {
  const out: { heading: string; head: string[]; rows: unknown[][] }[] = [];
  const a = r.analysis;
  if (a) {
    out.push({ heading: 'Totals', head: ['measure', 'value'], rows: Object.entries(a.totals) });
    if (a.languages)
      out.push({
        heading: 'Languages',
        head: ['language', 'files', 'lines', 'code', 'comment', 'blank'],
        rows: Object.entries(a.languages).map(([k, l]) => [k, l.files, l.lines, l.code, l.comment, l.blank]),
      });
    if (a.complexFunctions?.length)
      out.push({
        heading: 'Most complex functions',
        head: ['function', 'file', 'complexity', 'lines', 'nesting'],
        rows: a.complexFunctions.map((f) => [f.name, `${f.file}:${f.line}`, f.complexity, f.lines, f.nesting]),
      });
    if (a.largestFiles?.length)
      out.push({
        heading: 'Largest files',
        head: ['file', 'lines'],
        rows: a.largestFiles.map((f) => [f.path, f.lines]),
      });
  }
  return out;
}

/** The report as Markdown. */
export function reportMarkdown(r: ReportInput): string {
  const lines: string[] = [
    `# ${r.title}`,
    '',
    `Generated ${r.generatedAt}${r.analysis?.path ? ` for \`${r.analysis.path}\`` : ''}.`,
    '',
  ];
  if (r.insights?.summary) lines.push(`**Summary:** ${r.insights.summary}`, '');
  const findings = r.insights?.findings ?? [];
  if (findings.length) {
    lines.push('## Findings', '');
    findings.forEach((f, i) =>
      lines.push(`${i + 1}. **[${f.severity}] ${f.title}** (\`${f.target}\`): ${f.explanation}. *${f.suggestion}.*`),
    );
    lines.push('');
  }
  if (r.insights?.model?.text)
    lines.push(`## Model review (${r.insights.model.model ?? 'model'})`, '', r.insights.model.text, '');
  else if (r.insights?.model?.error) lines.push('## Model review', '', `Not available: ${r.insights.model.error}`, '');
  for (const c of r.charts) lines.push(`![chart](${c.link})`, '');
  for (const t of tables(r)) {
    lines.push(`## ${t.heading}`, '', `| ${t.head.join(' | ')} |`, `| ${t.head.map(() => '---').join(' | ')} |`);
    for (const row of t.rows) lines.push(`| ${row.map(cell).join(' | ')} |`);
    lines.push('');
  }
  return lines.join('\n');
}

/** The report as one standalone HTML page. The model's text is shown as preformatted text, never as HTML. */
export function reportHtml(r: ReportInput): string {
  const parts: string[] = [];
  parts.push(
    `<h1>${esc(r.title)}</h1>`,
    `<p class="meta">Generated ${esc(r.generatedAt)}${r.analysis?.path ? ` for <code>${esc(r.analysis.path)}</code>` : ''}.</p>`,
  );
  if (r.insights?.summary) parts.push(`<p><strong>Summary:</strong> ${esc(r.insights.summary)}</p>`);
  const findings = r.insights?.findings ?? [];
  if (findings.length) {
    parts.push('<h2>Findings</h2><ol class="findings">');
    for (const f of findings)
      parts.push(
        `<li class="${esc(f.severity)}"><strong>[${esc(f.severity)}] ${esc(f.title)}</strong> (<code>${esc(f.target)}</code>): ${esc(f.explanation)}. <em>${esc(f.suggestion)}.</em></li>`,
      );
    parts.push('</ol>');
  }
  if (r.insights?.model?.text)
    parts.push(
      `<h2>Model review (${esc(r.insights.model.model ?? 'model')})</h2><pre class="model">${esc(r.insights.model.text)}</pre>`,
    );
  else if (r.insights?.model?.error)
    parts.push(`<h2>Model review</h2><p>Not available: ${esc(r.insights.model.error)}</p>`);
  // Charts as data: URIs in <img>: the page stays standalone, and an SVG's scripts never run in it.
  for (const c of r.charts)
    parts.push(
      `<figure><img alt="chart" src="${c.svg ? `data:image/svg+xml;base64,${Buffer.from(c.svg).toString('base64')}` : esc(c.link)}"></figure>`,
    );
  for (const t of tables(r)) {
    parts.push(
      `<h2>${esc(t.heading)}</h2><table><thead><tr>${t.head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>`,
    );
    for (const row of t.rows) parts.push(`<tr>${row.map((v) => `<td>${esc(v)}</td>`).join('')}</tr>`);
    parts.push('</tbody></table>');
  }
  const css =
    'body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}li.high strong{color:#b00}li.medium strong{color:#a60}pre.model{white-space:pre-wrap;background:#f6f6f6;padding:1em}figure{margin:1em 0;overflow-x:auto}.meta{color:#666}';
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${esc(r.title)}</title><style>${css}</style></head><body>\n${parts.join('\n')}\n</body></html>\n`;
}
