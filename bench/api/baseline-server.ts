// The ceiling for the list benchmark on this machine: a bare node:http server
// that answers every request with a fixed body of the size of the 1,000-secret
// listing. Nothing Hangar does can be faster than this with the same client.
// Run by run.ts; prints its URL on stdout.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

const now = new Date().toISOString();
const body = Buffer.from(
  JSON.stringify({
    secrets: Array.from({ length: 1000 }, (_, i) => ({
      Name: `SECRET_${String(i).padStart(4, '0')}`,
      Digest: randomBytes(32).toString('hex'),
      CreatedAt: now,
      UpdatedAt: now,
      Status: 'Deployed',
    })),
  }),
);
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  if (addr && typeof addr === 'object') process.stdout.write(`http://127.0.0.1:${addr.port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
