import { join } from 'node:path';

/** Where `workflow create` writes definitions; the CLI loads them on every start. */
export const USER_WORKFLOW_DIR = join('.codomyrmex', 'workflows');
