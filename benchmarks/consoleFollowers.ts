/**
 * bench:console's followers: N clients of `/api/v1/events` in this process, each reading every frame, as many
 * browser tabs would. Tells the parent once all are connected; on "stop", answers with the frames read and exits.
 */
const [url, n] = [process.argv[2]!, Number(process.argv[3])];
let frames = 0;
const ctrl = new AbortController();

async function follow(): Promise<void> {
  const res = await fetch(url, { signal: ctrl.signal });
  ready();
  const decoder = new TextDecoder();
  try {
    for await (const value of res.body as unknown as AsyncIterable<Uint8Array>) {
      const text = decoder.decode(value, { stream: true });
      for (let i = text.indexOf('\nid: '); i >= 0; i = text.indexOf('\nid: ', i + 1)) frames++;
      if (text.startsWith('id: ')) frames++;
    }
  } catch {
    // Aborted: the bench is over.
  }
}

let connected = 0;
function ready(): void {
  if (++connected === n) process.send?.('ready');
}

process.on('message', () => {
  ctrl.abort();
  process.send?.({ frames }, () => process.exit(0));
});

for (let i = 0; i < n; i++) void follow();
if (n === 0) process.send?.('ready');
