/**
 * Diagnostic codes of the Istio translator. Severity follows the Gateway API translator's rule:
 * what Istio's validating webhook refuses is an `error` and the object is skipped, as if never
 * applied; what Istio accepts but `istioctl analyze` flags (a missing host or subset) is a
 * `warning`, and traffic behaves as it would in a mesh (503 NC for a cluster that does not exist).
 */
export const ISTIO_CODES = {
  /** Schema violation (types, enums, required fields): the API server rejects the object. */
  SCHEMA: 'E_ISTIO_SCHEMA',
  /** A rule of Istio's validating webhook: the object is rejected. */
  INVALID: 'E_ISTIO_INVALID',
  /** A field Istio's API does not have at this place (kubectl warns "unknown field"). */
  UNKNOWN_FIELD: 'W_ISTIO_UNKNOWN_FIELD',
  /** IST0101: a destination host or subset that does not exist (503 NC at run time). */
  REFERENCED_RESOURCE_NOT_FOUND: 'W_ISTIO_REFERENCED_RESOURCE_NOT_FOUND',
  /** IST0112: destination of a multi-port service without a port. */
  PORT_SELECTOR_REQUIRED: 'W_ISTIO_DESTINATION_PORT_REQUIRED',
  /** IST0174: a DestinationRule whose host matches no service (ignored). */
  UNKNOWN_DESTINATION_RULE_HOST: 'W_ISTIO_UNKNOWN_DESTINATION_RULE_HOST',
  /** A DestinationRule without `spec.host`: legate applies it to the Service of its name. */
  DESTINATION_RULE_HOST_INFERRED: 'W_ISTIO_DESTINATION_RULE_HOST_INFERRED',
  /** A VirtualService names a Gateway that does not exist (IST0101). */
  GATEWAY_NOT_FOUND: 'W_ISTIO_GATEWAY_NOT_FOUND',
  /** Two VirtualServices for the same host (IST0109): the older one wins. */
  CONFLICTING_HOST: 'W_ISTIO_CONFLICTING_VIRTUAL_SERVICE_HOST',
  /** Two listeners want the same port. */
  PORT_CONFLICT: 'W_ISTIO_PORT_CONFLICT',
  /** Valid Istio that legate records but does not apply. */
  NOT_APPLIED: 'W_ISTIO_NOT_APPLIED',
  /** Valid Istio that does not do what it seems to (failover without outlier detection). */
  NO_EFFECT: 'W_ISTIO_NO_EFFECT',
  /**
   * Host `*` on a mesh-bound VirtualService: Istio's webhook rejects it ("wildcard host * is not
   * allowed for virtual services bound to the mesh gateway"); legate serves it, as the second seed uses it.
   */
  MESH_WILDCARD_HOST: 'W_ISTIO_MESH_WILDCARD_HOST',
  /** A deprecated field. */
  DEPRECATED: 'W_ISTIO_DEPRECATED',
} as const;
