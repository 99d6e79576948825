/** A server-sent events reader for tests, over node:http: parses the stream as EventSource would. */
import http from 'node:http';

export type SseEvent = { event: string; data: string; retry?: number };

export class SseClient {
  readonly res: http.IncomingMessage;
  readonly #req: http.ClientRequest;
  readonly #events: SseEvent[] = [];
  readonly #waiters = new Set<() => void>();
  #buf = '';
  #ended = false;
  #cursor = 0;
  /** Resolves when the server ends the stream. */
  readonly ended: Promise<void>;

  private constructor(req: http.ClientRequest, res: http.IncomingMessage) {
    this.#req = req;
    this.res = res;
    res.setEncoding('utf8');
    res.on('data', (s: string) => {
      this.#buf += s;
      let i: number;
      while ((i = this.#buf.indexOf('\n\n')) >= 0) {
        this.#parse(this.#buf.slice(0, i));
        this.#buf = this.#buf.slice(i + 2);
      }
      this.#wake();
    });
    this.ended = new Promise((resolve) =>
      res.once('close', () => {
        this.#ended = true;
        this.#wake();
        resolve();
      }),
    );
  }

  /** Opens `url`; resolves with the response head (any status). */
  static open(url: string): Promise<SseClient> {
    return new Promise((resolve, reject) => {
      const req = http.get(url, { headers: { accept: 'text/event-stream' } }, (res) => resolve(new SseClient(req, res)));
      req.once('error', reject);
    });
  }

  /** Every event received so far, in order. */
  get events(): readonly SseEvent[] {
    return this.#events;
  }

  /** The next event named `name` after the last one `next` returned, waiting for it if need be. */
  async next(name: string, timeoutMs = 10_000): Promise<SseEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.#events.findIndex((e, k) => k >= this.#cursor && e.event === name);
      if (i >= 0) {
        this.#cursor = i + 1;
        return this.#events[i]!;
      }
      if (this.#ended) throw new Error(`stream ended before a "${name}" event`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no "${name}" event in ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, left);
        function done() {
          clearTimeout(t);
          resolve();
        }
        this.#waiters.add(done);
      });
    }
  }

  /** The next `name` event's data as JSON. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async nextJson<T = Record<string, any>>(name: string, timeoutMs?: number): Promise<T> {
    return JSON.parse((await this.next(name, timeoutMs)).data) as T;
  }

  close(): void {
    this.#req.destroy();
  }

  #parse(block: string): void {
    const e: SseEvent = { event: 'message', data: '' };
    const data: string[] = [];
    let any = false;
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const i = line.indexOf(':');
      const field = i < 0 ? line : line.slice(0, i);
      const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
      if (field === 'event') e.event = value;
      else if (field === 'data') data.push(value);
      else if (field === 'retry') e.retry = Number(value);
      any = true;
    }
    if (!any) return;
    e.data = data.join('\n');
    this.#events.push(e);
  }

  #wake(): void {
    const w = [...this.#waiters];
    this.#waiters.clear();
    for (const f of w) f();
  }
}
