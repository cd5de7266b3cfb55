// The pipeline of {{project.name}}: reads every CSV in --input, sums `amount` by `category`, writes one JSON per
// input to --output and a summary CSV to data/output, and prints a JSON report.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseCsv, sumBy } from './csv.js';

const { values } = parseArgs({
  options: {
    input: { type: 'string', default: 'data/raw' },
    output: { type: 'string', default: 'data/processed' },
    'batch-size': { type: 'string', default: '1000' },
    validate: { type: 'string', default: 'true' },
  },
});
const batchSize = Number(values['batch-size']);
const files = (await readdir(values.input)).filter((f) => f.endsWith('.csv')).sort();
await mkdir(values.output, { recursive: true });
await mkdir('data/output', { recursive: true });
const report = { files: files.length, rows: 0, batchSize, outputs: [] };
const summary = ['file,category,total'];
for (const f of files) {
  const rows = parseCsv(await readFile(join(values.input, f), 'utf8'), f);
  if (values.validate === 'true' && rows.some((r) => !r.category)) throw new Error(`${f}: a row has no category`);
  const totals = sumBy(rows, 'category', 'amount', batchSize);
  const out = join(values.output, `${basename(f, '.csv')}.json`);
  await writeFile(out, JSON.stringify({ source: f, rows: rows.length, totals }, null, 2));
  for (const [c, t] of Object.entries(totals)) summary.push(`${f},${c},${t}`);
  report.rows += rows.length;
  report.outputs.push(out);
}
await writeFile('data/output/summary.csv', `${summary.join('\n')}\n`);
console.log(JSON.stringify(report));
