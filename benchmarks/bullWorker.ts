/**
 * A BullMQ worker process for `bench:workers`: `node bullWorker.js PORT QUEUE CONCURRENCY SLEEP_MS`. Runs jobs in
 * its own thread (BullMQ's default), each a no-op or a `SLEEP_MS` wait; prints "ready" once it listens.
 */
const [port, queue, concurrency, sleepMs] = process.argv.slice(2);
const specifier = 'bullmq';
const { Worker } = (await import(specifier)) as {
  Worker: new (
    name: string,
    fn: () => Promise<unknown>,
    opts: { connection: { host: string; port: number }; concurrency: number },
  ) => { waitUntilReady(): Promise<unknown>; close(): Promise<void> };
};
const ms = Number(sleepMs);
const worker = new Worker(
  queue ?? 'bench',
  () => (ms > 0 ? new Promise((resolve) => setTimeout(() => resolve(null), ms)) : Promise.resolve(null)),
  { connection: { host: '127.0.0.1', port: Number(port) }, concurrency: Number(concurrency) },
);
await worker.waitUntilReady();
console.log('ready');
process.on('SIGTERM', () => void worker.close().then(() => process.exit(0)));
