import { z } from 'zod';
import { NonRetryableError } from '../errors.js';
import type { ActionContext } from './contract.js';
import { defineAction, defineModule } from './contract.js';
import { chatCompletion, llmConfig, LlmError } from './insights/llm.js';
import type { AnalysisInput, Finding } from './insights/rules.js';
import { findingsFor, THRESHOLDS } from './insights/rules.js';

const fnSchema = z
  .object({
    file: z.string(),
    name: z.string(),
    line: z.number(),
    lines: z.number(),
    complexity: z.number(),
    nesting: z.number(),
  })
  .passthrough();
/** The parts of an analysis the rules read; anything else passes through. */
export const analysisSchema = z
  .object({
    totals: z.object({ files: z.number(), lines: z.number() }).passthrough(),
    languages: z
      .record(z.object({ files: z.number(), code: z.number(), comment: z.number() }).passthrough())
      .optional(),
    files: z.array(z.object({ path: z.string(), lines: z.number() }).passthrough()).optional(),
    complexFunctions: z.array(fnSchema).optional(),
    longFunctions: z.array(fnSchema).optional(),
    deepFunctions: z.array(fnSchema).optional(),
  })
  .passthrough();

/** The first upstream output that looks like a static analysis (has `totals` and `files`). */
export function upstreamAnalysis(ctx: ActionContext): unknown {
  for (const v of Object.values(ctx.upstream)) {
    if (typeof v === 'object' && v !== null && 'totals' in v && 'files' in v) return v;
  }
  return undefined;
}

const SYSTEM =
  'You are a senior software engineer reviewing a code-quality analysis. Answer in Markdown: the three to five changes that would most improve this codebase, most valuable first, each naming the files or functions concerned and why. Be concrete and brief; do not repeat the raw numbers back.';

function prompt(a: AnalysisInput, findings: Finding[]): string {
  const brief = {
    totals: a.totals,
    languages: a.languages,
    findings: findings
      .slice(0, 25)
      .map((f) => ({ severity: f.severity, rule: f.rule, target: f.target, title: f.title })),
    complexFunctions: a.complexFunctions?.slice(0, 10),
  };
  return `Analysis summary (JSON):\n${JSON.stringify(brief)}`;
}

/**
 * Ranked, explained findings from a static analysis. Deterministic rules always; when an OpenAI-compatible endpoint
 * is configured, the model's review comes alongside them.
 */
export default defineModule({
  name: 'ai_code_editing',
  description: 'Ranked findings from a static analysis (rules; plus a language model review when one is configured)',
  actions: {
    generate_code_insights: defineAction({
      description:
        'Ranks and explains findings in `analysis_data` (the output of static_analysis.analyze_code_quality; default: the analysis of an upstream step): complex, long or deeply nested functions, hotspot and large files, untested areas, comment density, TODO/FIXME markers. With CODOMYRMEX_LLM_BASE_URL and CODOMYRMEX_LLM_MODEL set (key in CODOMYRMEX_LLM_API_KEY), also asks that OpenAI-compatible model for a review.',
      output:
        '{ summary, findings: [{ rule, severity: high|medium|low, target, title, explanation, suggestion }], counts: { high, medium, low }, thresholds, model: null | { model, text } | { error } }',
      // The channel carries the warning log and a cooperative abort of the model request.
      channel: true,
      params: z
        .object({
          analysis_data: analysisSchema
            .optional()
            .describe("a static_analysis.analyze_code_quality result; default: the upstream step's"),
          top: z.number().int().min(1).max(500).default(20).describe('findings returned'),
          llm: z
            .enum(['auto', 'off', 'required'])
            .default('auto')
            .describe('auto: ask the model when configured, report its errors alongside; required: fail without it'),
          llmBaseUrl: z.string().url().optional().describe('overrides CODOMYRMEX_LLM_BASE_URL'),
          llmModel: z.string().min(1).optional().describe('overrides CODOMYRMEX_LLM_MODEL'),
          llmTimeoutMs: z.number().int().min(100).max(600_000).default(60_000),
        })
        .strict(),
      run: async (p, ctx) => {
        const raw = p.analysis_data ?? upstreamAnalysis(ctx);
        if (raw === undefined)
          throw new NonRetryableError(
            'analysis_data: missing; pass the output of static_analysis.analyze_code_quality (e.g. "{{analyze.output}}") or depend on a step that runs it',
          );
        const parsed = analysisSchema.safeParse(raw);
        if (!parsed.success)
          throw new NonRetryableError(
            `analysis_data: not an analysis (${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message})`,
          );
        const a = parsed.data as AnalysisInput;
        const all = findingsFor(a);
        const counts = { high: 0, medium: 0, low: 0 };
        for (const f of all) counts[f.severity]++;
        const findings = all.slice(0, p.top).map(({ ratio: _ratio, ...f }) => f);
        const t = a.totals;
        const summary = `${t.files} files, ${t.lines} lines${t.functions !== undefined ? `, ${t.functions} functions` : ''}: ${counts.high} high, ${counts.medium} medium, ${counts.low} low findings${all[0] ? `; first: ${all[0].title}` : ''}`;
        let model: { model: string; text: string } | { error: string } | null = null;
        const cfg =
          p.llm === 'off' ? null : llmConfig({ baseUrl: p.llmBaseUrl, model: p.llmModel, timeoutMs: p.llmTimeoutMs });
        if (p.llm === 'required' && !cfg)
          throw new NonRetryableError(
            'llm: "required" but no model is configured; set CODOMYRMEX_LLM_BASE_URL and CODOMYRMEX_LLM_MODEL (or llmBaseUrl/llmModel)',
          );
        if (cfg) {
          try {
            const reply = await chatCompletion(
              cfg,
              [
                { role: 'system', content: SYSTEM },
                { role: 'user', content: prompt(a, all) },
              ],
              ctx.signal,
            );
            model = { model: reply.model, text: reply.text };
          } catch (err) {
            if (p.llm === 'required' || !(err instanceof LlmError)) throw err;
            model = { error: err.message };
            await ctx.log('warn', `model review skipped: ${err.message}`);
          }
        }
        return { summary, findings, counts, thresholds: THRESHOLDS, model };
      },
    }),
  },
});
