import v8 from 'node:v8';
import vm from 'node:vm';

/** Dropped after the startup collection: freeing it raises glibc's mmap and trim thresholds (see below). */
const THRESHOLD_RAISER_BYTES = 16 * 1024 * 1024;

/**
 * Runs one full garbage collection shortly after startup. Loading a config leaves garbage (parsed
 * manifests, schema checks, translation) and a grown young generation; V8's memory reducer gives
 * that memory back to the OS about 8 s after a full collection, but only once one has happened,
 * and a small startup may never trigger one, leaving the process 15-20 MiB bigger for good. The
 * collection takes a few tens of milliseconds, once, right after the listeners are up.
 *
 * Right after it, one untouched 16 MiB buffer is allocated and dropped; the next collection (the
 * first scavenge under traffic) frees it. glibc's malloc serves it with mmap and, when it is freed,
 * raises its mmap threshold to its size and its trim threshold to twice that (its dynamic
 * threshold rule). Without that, every 64 KiB socket read buffer of a large body came from the top
 * of the heap, and freeing it gave the pages back (brk) only to fault them in again on the next
 * read: a 1 MiB download through legate cost 1300 us of CPU instead of about 750. It comes after
 * the startup collection so that the startup garbage is still given back; its pages are never
 * touched, so it costs no resident memory.
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
    Buffer.allocUnsafeSlow(THRESHOLD_RAISER_BYTES);
  }, delayMs);
  t.unref();
}
