import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * Runs one full garbage collection shortly after startup. Loading a config leaves garbage (parsed
 * manifests, schema checks, translation) and a grown young generation; V8's memory reducer gives
 * that memory back to the OS about 8 s after a full collection, but only once one has happened,
 * and a small startup may never trigger one, leaving the process 15-20 MiB bigger for good. The
 * collection takes a few tens of milliseconds, once, right after the listeners are up.
 */
export function releaseStartupMemory(delayMs = 200): void {
  const t = setTimeout(() => {
    try {
      // The documented way to get V8's gc() without starting node with --expose-gc.
      v8.setFlagsFromString('--expose-gc');
      (vm.runInNewContext('gc') as () => void)();
    } catch {
      // Not available: the memory reducer still runs after V8's own first full collection.
    }
  }, delayMs);
  t.unref();
}
