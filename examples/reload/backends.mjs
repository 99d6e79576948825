// Two echo servers for the reload example: echo-1 on 127.0.0.1:9901, echo-2 on 127.0.0.1:9902.
// Each answers with its name, so a route change shows at once.
import http from 'node:http';

for (const [name, port] of [
  ['echo-1', 9901],
  ['echo-2', 9902],
]) {
  http
    .createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`${name} ${req.method} ${req.url}\n`);
    })
    .once('error', (e) => {
      console.error(`cannot start ${name} on ${port}: ${e.message}`);
      process.exit(1);
    })
    .listen(port, '127.0.0.1', () => console.log(`${name} on 127.0.0.1:${port}`));
}
