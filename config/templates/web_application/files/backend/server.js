// The backend of {{project.name}}: serves the built frontend (dist/public) and a JSON API.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const PUBLIC = fileURLToPath(new URL('../dist/public/', import.meta.url));
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };

export function createApp() {
  return createServer(async (req, res) => {
    if (req.url === '/api/health') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ status: 'ok', name: '{{project.name}}' }));
    }
    const path = normalize(join(PUBLIC, req.url === '/' ? 'index.html' : req.url ?? ''));
    if (!path.startsWith(PUBLIC)) {
      res.writeHead(403);
      return res.end();
    }
    try {
      const body = await readFile(path);
      res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end('not found');
    }
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const port = Number(process.env.PORT ?? {{project.config.backend.port}});
  createApp().listen(port, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${port}`));
}
