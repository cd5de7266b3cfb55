/**
 * Errors in the CLI's words: the engine's messages end with what to do, said for the library (`createProject(...)`,
 * `listWorkflows()`) or for MCP (`see list_workflows`); a CLI user is told the command instead.
 */

/** Library or MCP advice in an error message, and the CLI command that does the same. */
const HINTS: [RegExp, string][] = [
  [
    /create it with createProject\(\{ name, templateName \}\) or list them with listProjects\(\)/,
    'create it with "codomyrmex project create NAME" or list them with "codomyrmex project list"',
  ],
  [
    /create it first or list them with listWorkflows\(\)/,
    'create it with "codomyrmex workflow create NAME" or list them with "codomyrmex workflow list"',
  ],
  [/see list_workflows/, 'see "codomyrmex workflow list"'],
  [
    /create one with engine\.createSession\(\{ userId \}\)/,
    'see "codomyrmex sessions list" (sessions are created through the library or MCP)',
  ],
  [
    /run it with engine\.executeProjectWorkflow\(project, workflow\)/,
    'run it with "codomyrmex project run PROJECT WORKFLOW"',
  ],
  [/execute_workflow returns a run id/, 'see "codomyrmex workflow runs"'],
];

/** `message` with library and MCP advice replaced by the CLI command. */
export function inCliWords(message: string): string {
  let out = message;
  for (const [re, cli] of HINTS) out = out.replace(re, cli);
  return out;
}
