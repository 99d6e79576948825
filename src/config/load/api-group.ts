/**
 * apiVersion helpers. An apiVersion is `group/version`, or just `version` for the core group
 * (`v1`), whose group is the empty string.
 */

/** The group of an apiVersion: `gateway.networking.k8s.io` for `gateway.networking.k8s.io/v1`, `""` for `v1`. */
export function apiGroup(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/**
 * Whether an object is `kind` of API `group`, whatever the version: `gateway.networking.k8s.io/v1`
 * and `gateway.networking.k8s.io/v1beta1` both match group `gateway.networking.k8s.io`; `v1` matches `""`.
 */
export function isKind(o: { readonly apiVersion: string; readonly kind: string }, group: string, kind: string): boolean {
  return o.kind === kind && apiGroup(o.apiVersion) === group;
}

/** Why an apiVersion is malformed, or undefined when it is `version` or `group/version`. */
export function apiVersionProblem(apiVersion: string): string | undefined {
  const parts = apiVersion.split('/');
  if (parts.length > 2) return 'has more than one "/"';
  if (parts.some((p) => p === '')) return 'has an empty group or version';
  if (/\s/.test(apiVersion)) return 'contains whitespace';
  return undefined;
}
