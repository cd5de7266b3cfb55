/**
 * The workflow definition files an engine loads at start (`workflowDirs`): all read first, then created callees
 * first (a file may call, with `workflow:` steps, a workflow of a later file). A file that does not read or
 * validate fails the start, or with `badDefinitionFiles: "skip"` is skipped with a `definition_skipped` event.
 */
import type { MessageBus } from '../../bus/bus.js';
import { NotFoundError, serializeError, ValidationError } from '../../errors.js';
import { orderByCalls, readDefinitionFile } from '../../workflows/loader.js';

/** Creates the workflows of `files` through the bus (`workflow.create`, the file as the source). */
export async function createFromFiles(
  bus: MessageBus,
  files: readonly string[],
  badFiles: 'fail' | 'skip',
): Promise<void> {
  const read: { file: string; definition: unknown; error: Error | null }[] = [];
  for (const file of files) {
    try {
      read.push({ file, definition: await readDefinitionFile(file), error: null });
    } catch (err) {
      read.push({ file, definition: null, error: err instanceof Error ? err : new Error(String(err)) });
    }
  }
  for (const { file, definition, error } of orderByCalls(read)) {
    try {
      if (error) throw error;
      await bus.request('workflow.create', { definition, source: file }).catch((err: unknown) => {
        throw err instanceof Error && !err.message.startsWith(file)
          ? Object.assign(err, { message: `${file}: ${err.message}` })
          : err;
      });
    } catch (err) {
      // Only the file's own fault is skipped; a store that cannot write fails the start as before.
      if (badFiles !== 'skip' || !(err instanceof ValidationError || err instanceof NotFoundError)) throw err;
      bus.publish('definition_skipped', { file, error: serializeError(err) });
    }
  }
}
