/**
 * zod pieces shared by the Kubernetes-style schemas (Gateway API, Envoy Gateway): whole numbers
 * with both bounds in one message, strings with a pattern and its own message, label selectors,
 * GEP-2257 durations. Messages may use `{path}` (see check.ts).
 */
import { z } from 'zod';
import { parseGatewayDuration } from '../../common/durations.js';
import { withFix } from './check.js';

export const INT32_MAX = 2_147_483_647;
export const UINT32_MAX = 4_294_967_295;

/** An `error` option for a required field: `message` (and `fix`) when it is missing, the default otherwise. */
export function whenMissing(message: string, fix?: string): { error: (iss: { input?: unknown }) => string | undefined } {
  return { error: (iss) => (iss.input === undefined ? (fix ? withFix(message, fix) : message) : undefined) };
}

/** Adds a custom issue: `message` may use `{path}`; `fix` becomes the diagnostic's fix. */
export function issue(ctx: z.RefinementCtx, message: string, opts: { path?: (string | number)[]; fix?: string } = {}): void {
  ctx.addIssue({ code: 'custom', message, ...(opts.path ? { path: opts.path } : {}), ...(opts.fix ? { params: { fix: opts.fix } } : {}) });
}

/** A whole number in [min, max]: `spec.port is 70000; it must be between 1 and 65535`. */
export function int(min: number, max: number, message?: (v: unknown) => string) {
  const word = message ? { error: (iss: { input?: unknown }) => (iss.input === undefined ? undefined : message(iss.input)) } : {};
  return z.int(word).superRefine((v, ctx) => {
    if (v < min || v > max) issue(ctx, message ? message(v) : `{path} is ${v}; it must be between ${min} and ${max}`);
  });
}

/** A string of `min`..`max` characters. */
export function str(min = 0, max?: number) {
  const s = min > 0 ? z.string().min(min) : z.string();
  return max === undefined ? s : s.max(max);
}

/** A string matching `re`; `message(value)` words the failure. Length bounds are checked first. */
export function pattern(re: RegExp, message: (v: string) => string, min = 0, max?: number) {
  return str(min, max).superRefine((v, ctx) => {
    if (v.length >= min && (max === undefined || v.length <= max) && !re.test(v)) issue(ctx, message(v));
  });
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A namespace name (DNS-1123 label, 1-63). */
export const namespaceName = pattern(DNS_LABEL, (v) => `{path} "${v}" must be a DNS label: lower-case letters, digits and '-'`, 1, 63);

/** A DNS-1123 subdomain of 1-253 characters. */
export const dnsSubdomain = pattern(
  DNS_SUBDOMAIN,
  (v) => `{path} "${v}" must be a DNS subdomain: lower-case letters, digits, '-' and '.'`,
  1,
  253,
);

const labelSelectorRequirement = z
  .object({ key: z.string().min(1), operator: z.string(), values: z.array(z.string()).optional() })
  .superRefine((e, ctx) => {
    if (!['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(e.operator))
      issue(ctx, `operator must be In, NotIn, Exists or DoesNotExist, not "${e.operator}"`, { path: ['operator'] });
    else if ((e.operator === 'In' || e.operator === 'NotIn') && (e.values ?? []).length === 0)
      issue(ctx, `values must be non-empty for operator ${e.operator}`, { path: ['values'] });
  });

/** A Kubernetes LabelSelector; operators and In/NotIn values are checked as Kubernetes checks built-in selectors. */
export const labelSelector = z.object({
  matchLabels: z.record(z.string(), z.string()).optional(),
  matchExpressions: z.array(labelSelectorRequirement).optional(),
});
export type LabelSelector = z.infer<typeof labelSelector>;

/**
 * A Gateway API duration (GEP-2257). `word(text, why)` words the failure (`why` is the parser's
 * explanation of what is allowed); by default the message is `why` itself.
 */
export function gatewayDuration(word?: (text: string, why: string) => { message: string; fix?: string }, missing?: [string, string?]) {
  const notString = 'a duration is a string such as "10s" or "1m30s"';
  const onMissing = missing ? whenMissing(...missing).error : () => undefined;
  return z
    .string({
      error: (iss) => {
        if (iss.input === undefined) return onMissing(iss);
        const m = word?.(String(iss.input), notString);
        return m && (m.fix ? withFix(m.message, m.fix) : m.message);
      },
    })
    .superRefine((text, ctx) => {
      const d = parseGatewayDuration(text);
      if (d.ok) return;
      const m = word?.(text, d.error) ?? { message: d.error };
      issue(ctx, m.message, m.fix ? { fix: m.fix } : {});
    });
}

/** Milliseconds of a duration the schema already checked. */
export function durationMs(text: string): number {
  return validDurationMs(text) ?? 0;
}

/**
 * Milliseconds of a duration, undefined when it is not one. For refinements: they also run on
 * values whose own check failed (custom issues do not stop zod), and must not judge those.
 */
export function validDurationMs(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const d = parseGatewayDuration(text);
  return d.ok ? d.ms : undefined;
}
