import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { defineAction, defineModule } from './contract.js';
import { insideWorkingDir } from './paths.js';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Renders a horizontal bar chart as a standalone SVG document. */
export function barChartSvg(title: string, data: [string, number][]): string {
  const width = 640;
  const row = 24;
  const labelW = 200;
  const top = 40;
  const height = top + data.length * row + 20;
  const max = Math.max(1, ...data.map(([, v]) => v));
  const bars = data
    .map(([label, v], i) => {
      const w = Math.round(((width - labelW - 80) * v) / max);
      const y = top + i * row;
      return `  <text x="${labelW - 8}" y="${y + 16}" text-anchor="end" font-size="12">${esc(label)}</text>\n  <rect x="${labelW}" y="${y + 4}" width="${w}" height="${row - 8}" fill="#4e79a7"/>\n  <text x="${labelW + w + 6}" y="${y + 16}" font-size="12">${v}</text>`;
    })
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">\n  <text x="${width / 2}" y="24" text-anchor="middle" font-size="16">${esc(title)}</text>\n${bars}\n</svg>\n`;
}

/** Charts from data, written as SVG files inside the working folder. */
export default defineModule({
  name: 'data_visualization',
  description: 'Renders charts to SVG files',
  actions: {
    create_chart: defineAction({
      description: 'Writes a bar chart of `data` ({ label: number } or [[label, number]]) to `output` (an .svg path inside the working folder).',
      params: z
        .object({
          data: z.union([z.record(z.number()), z.array(z.tuple([z.string(), z.number()]))]),
          title: z.string().default('chart'),
          output: z.string().regex(/\.svg$/, 'must end in .svg'),
          type: z.literal('bar').default('bar'),
        })
        .strict(),
      run: async ({ data, title, output }) => {
        const rows: [string, number][] = Array.isArray(data) ? data : Object.entries(data);
        const path = insideWorkingDir(output, 'output');
        await mkdir(dirname(path), { recursive: true });
        const svg = barChartSvg(title, rows);
        await writeFile(path, svg);
        return { output: path, bars: rows.length, bytes: Buffer.byteLength(svg) };
      },
    }),
  },
});
