import { z } from 'zod';
import { defineAction, defineModule } from './contract.js';

const fileSchema = z.object({ path: z.string(), lines: z.number(), todos: z.number(), longLines: z.number() }).passthrough();
const analysisSchema = z.object({ files: z.array(fileSchema), totals: z.object({ files: z.number(), lines: z.number(), todos: z.number(), longLines: z.number() }).passthrough() }).passthrough();

/**
 * Turns a static analysis into ranked findings. Rule-based, not a language model: it ranks the largest files, the
 * densest TODO clusters and the files with most over-long lines, and says what to look at first.
 */
export default defineModule({
  name: 'ai_code_editing',
  description: 'Findings from a static analysis (rule-based ranking; no model is called)',
  actions: {
    generate_code_insights: defineAction({
      description: 'Ranks hotspots in `analysis_data` (the output of static_analysis.analyze_code_quality) and writes a summary.',
      params: z.object({ analysis_data: analysisSchema, top: z.number().int().min(1).max(100).default(5) }).strict(),
      run: ({ analysis_data: a, top }) => {
        const by = (k: 'lines' | 'todos' | 'longLines') =>
          [...a.files]
            .filter((f) => f[k] > 0)
            .sort((x, y) => y[k] - x[k] || x.path.localeCompare(y.path))
            .slice(0, top);
        const largest = by('lines').map((f) => ({ path: f.path, lines: f.lines }));
        const todoHotspots = by('todos').map((f) => ({ path: f.path, todos: f.todos }));
        const longLineHotspots = by('longLines').map((f) => ({ path: f.path, longLines: f.longLines }));
        const findings: string[] = [];
        const t = a.totals;
        if (t.files === 0) findings.push('no source files matched: check the path and extensions');
        const avg = t.files ? Math.round(t.lines / t.files) : 0;
        if (largest[0] && largest[0].lines > 3 * Math.max(avg, 100)) findings.push(`${largest[0].path} has ${largest[0].lines} lines (${avg} on average): consider splitting it`);
        if (t.todos > 0) findings.push(`${t.todos} TODO/FIXME markers, most in ${todoHotspots[0]?.path}`);
        if (t.longLines > 0) findings.push(`${t.longLines} lines over the length limit, most in ${longLineHotspots[0]?.path}`);
        return {
          summary: `${t.files} files, ${t.lines} lines, ${t.todos} TODOs, ${t.longLines} long lines`,
          findings,
          largest,
          todoHotspots,
          longLineHotspots,
        };
      },
    }),
  },
});
