/**
 * fake-service's error injector (errors/errors.go): one request counter shared by HTTP and gRPC,
 * a token-bucket rate limit checked first, then a deterministic every-Nth-request error:
 * error iff count % int(1/ERROR_RATE) == 0. ERROR_RATE 0.5 fails exactly every other request.
 */
import type { Clock } from '../common/clock.js';
import { GoPanic } from './response.js';
import { dur, float, type Logger } from './hclog.js';

export const ERROR_RATE_LIMIT = 'Service exceeded rate limit';
export const ERROR_INJECTION = 'Service error automatically injected';
export const ERROR_DELAY = 'Service delay automatically injected';

export type InjectedError = { code: number; error: string };

export type InjectorOptions = {
  errorRate: number;
  errorCode: number;
  errorType: string;
  errorDelayNs: number;
  rateLimitRPS: number;
  rateLimitCode: number;
};

/** golang.org/x/time/rate.Limiter's Allow(): a bucket of `burst` tokens refilled at `rate` per second, full at start. */
export class TokenBucket {
  #rate: number;
  #burst: number;
  #tokens: number;
  #last: number;
  #clock: Clock;

  constructor(rate: number, burst: number, clock: Clock) {
    this.#rate = rate;
    this.#burst = burst;
    this.#tokens = burst;
    this.#clock = clock;
    this.#last = clock.now();
  }

  allow(): boolean {
    if (this.#rate === Infinity) return true;
    const now = this.#clock.now();
    const elapsed = Math.max(0, now - this.#last) / 1000;
    this.#last = now;
    this.#tokens = Math.min(this.#burst, this.#tokens + elapsed * this.#rate);
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return true;
    }
    return false;
  }
}

/** Go's int(f) for a float64 on amd64: NaN and out-of-range values become math.MinInt64. */
export function goFloatToInt(f: number): bigint {
  if (!Number.isFinite(f) || Math.abs(f) >= 9223372036854775808) return -9223372036854775808n;
  return BigInt(Math.trunc(f));
}

export class ErrorInjector {
  #opts: InjectorOptions;
  #log: Logger;
  #clock: Clock;
  #limiter: TokenBucket | undefined;
  #count = 0;

  constructor(opts: InjectorOptions, log: Logger, clock: Clock) {
    this.#opts = { ...opts };
    this.#log = log;
    this.#clock = clock;
  }

  get requestCount(): number {
    return this.#count;
  }

  /** The runtime setter behind /config/error_rate/<float>. */
  setErrorRate(rate: number): void {
    this.#opts.errorRate = rate;
  }

  /**
   * One request through the injector. Resolves to the injected error, or undefined to go on.
   * ERROR_RATE > 1 makes the divisor 0: Go panics with an integer divide by zero (thrown here).
   */
  async do(sleep: (ns: number) => Promise<void>): Promise<InjectedError | undefined> {
    this.#count++;
    const o = this.#opts;
    // Built on the first request, as the original does lazily.
    if (o.rateLimitRPS > 0 && !this.#limiter)
      this.#limiter = new TokenBucket(o.rateLimitRPS, Number(goFloatToInt(o.rateLimitRPS)), this.#clock);
    if (this.#limiter && !this.#limiter.allow()) {
      this.#log.info('Rate limiting service');
      return { code: o.rateLimitCode, error: ERROR_RATE_LIMIT };
    }
    if (this.#count === Number.MAX_SAFE_INTEGER) this.#count = 1;
    const divisor = goFloatToInt(1 / o.errorRate);
    if (divisor === 0n) throw new GoPanic('runtime error: integer divide by zero');
    if (BigInt(this.#count) % divisor !== 0n) return undefined;
    this.#log.info('Injecting error', 'request_count', this.#count, 'error_percentage', float(o.errorRate), 'error_type', o.errorType);
    if (o.errorType === 'http_error') return { code: o.errorCode, error: ERROR_INJECTION };
    this.#log.info('Delaying service execution', 'duration', dur(o.errorDelayNs));
    await sleep(o.errorDelayNs);
    return { code: o.errorCode, error: ERROR_DELAY };
  }
}
