import { Readable } from 'node:stream';

/**
 * What an upstream attempt reads the request body from. It touches the downstream body only
 * when the upstream first reads: nothing flows (and nothing is lost) before a connection is
 * ready, an unread body stays untouched so the server can still finish the exchange after a
 * local reply, and an upstream client that destroys its body (undici does, once written) destroys
 * this wrapper, not the client's HTTP/2 stream or HTTP/1.1 request. It also counts the bytes.
 */
export function lazyBody(src: Readable, onBytes: (n: number) => void): Readable {
  let attached = false;
  const onData = (c: Buffer) => {
    onBytes(c.length);
    if (!out.push(c)) src.pause();
  };
  const onEnd = () => out.push(null);
  const onError = (e: Error) => out.destroy(e);
  const out: Readable = new Readable({
    read() {
      if (!attached) {
        attached = true;
        src.on('data', onData);
        src.once('end', onEnd);
        src.once('error', onError);
      }
      src.resume();
    },
    destroy(err, cb) {
      if (attached) {
        src.off('data', onData);
        src.off('end', onEnd);
        src.off('error', onError);
      }
      cb(err);
    },
  });
  return out;
}
