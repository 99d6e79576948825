import { Readable } from 'node:stream';

/**
 * The request body as each attempt reads it. While a retry is possible the chunks are kept (up
 * to `limit` bytes) so a retry can send them again; past the limit the copy is dropped and
 * `onOverflow` fires (Envoy: no retry, `retry_or_shadow_abandoned`), and the attempt in flight
 * keeps streaming. The downstream body is touched only when an attempt first reads, so nothing
 * flows before a connection is ready, and an upstream client that destroys its body destroys the
 * attempt's reader, never the client's stream.
 */
export class ReplayBody {
  readonly #src: Readable;
  #limit: number;
  readonly #onBytes: (n: number) => void;
  #onOverflow: (() => void) | null;
  #chunks: Buffer[] | null;
  #size = 0;
  #ended = false;
  #error: Error | null = null;
  #attached = false;
  #reader: Readable | null = null;

  /** `limit` 0 = do not keep a copy (no retry possible). */
  constructor(src: Readable, limit: number, onBytes: (n: number) => void, onOverflow: (() => void) | null) {
    this.#src = src;
    this.#limit = limit;
    this.#onBytes = onBytes;
    this.#onOverflow = onOverflow;
    this.#chunks = limit > 0 ? [] : null;
  }

  /** True while every byte read so far is kept, so a new attempt can replay the body. */
  get replayable(): boolean {
    return this.#chunks !== null;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** The kept chunks (all of the body read so far), or null once the copy was dropped. */
  get kept(): readonly Buffer[] | null {
    return this.#chunks;
  }

  /** Stops keeping a copy (the request can no longer be retried). */
  release(): void {
    this.#chunks = null;
    this.#onOverflow = null;
  }

  /** A fresh reader for a new attempt: the kept chunks, then the rest as it arrives. */
  reader(): Readable {
    const prev = this.#reader;
    if (prev && !prev.destroyed) prev.destroy();
    const r: Readable = new Readable({
      read: () => {
        if (!this.#attached) this.#attach();
        else if (this.#reader === r && !this.#ended) this.#src.resume();
      },
    });
    // The kept chunks go in first, synchronously, so live chunks arriving later queue behind them.
    if (this.#chunks) for (const c of this.#chunks) r.push(c);
    if (this.#ended) r.push(null);
    else if (this.#error) r.destroy(this.#error);
    this.#reader = r;
    return r;
  }

  #attach(): void {
    this.#attached = true;
    this.#src.on('data', (c: Buffer) => {
      this.#onBytes(c.length);
      if (this.#chunks) {
        if (this.#size + c.length > this.#limit) {
          const cb = this.#onOverflow;
          this.release();
          cb?.();
        } else {
          this.#chunks.push(c);
          this.#size += c.length;
        }
      }
      const r = this.#reader;
      if (r && !r.destroyed && !r.push(c)) this.#src.pause();
    });
    this.#src.once('end', () => {
      this.#ended = true;
      const r = this.#reader;
      if (r && !r.destroyed) r.push(null);
    });
    this.#src.once('error', (e: Error) => {
      this.#error = e;
      const r = this.#reader;
      if (r && !r.destroyed) r.destroy(e);
    });
  }
}
