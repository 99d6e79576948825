/**
 * Diagnostic codes of the Gateway API translator, and the names it shares with status conditions.
 *
 * Severity follows one rule: what the Kubernetes API server would refuse at admission (CRD schema,
 * OpenAPI bounds, CEL rules; config-apis.md section 6) is an `error` and the object is skipped, as if
 * it had never been applied. What Kubernetes admits but a controller flags in status (a missing
 * Service, a parentRef that matches no listener, an unsupported value) is a `warning`: the rest of
 * the configuration keeps working, as it does in a cluster.
 */
export const CODES = {
  /** CRD schema / OpenAPI / CEL violation: the object is rejected. */
  INVALID: 'E_GWAPI_INVALID',
  /** A Gateway names a GatewayClass that does not exist (config-apis.md 6 #2). */
  GATEWAYCLASS_NOT_FOUND: 'E_GWAPI_GATEWAYCLASS_NOT_FOUND',
  /** A Gateway names a GatewayClass of another controller: not served here. */
  GATEWAYCLASS_NOT_OURS: 'W_GWAPI_GATEWAYCLASS_NOT_OURS',
  /** GatewayClass parametersRef wrong or missing its target. */
  INVALID_PARAMETERS: 'W_GWAPI_INVALID_PARAMETERS',
  LISTENER_CONFLICT: 'W_GWAPI_LISTENER_CONFLICT',
  UNSUPPORTED_PROTOCOL: 'W_GWAPI_UNSUPPORTED_PROTOCOL',
  INVALID_ROUTE_KINDS: 'W_GWAPI_INVALID_ROUTE_KINDS',
  INVALID_CERTIFICATE_REF: 'W_GWAPI_INVALID_CERTIFICATE_REF',
  NO_MATCHING_PARENT: 'W_GWAPI_NO_MATCHING_PARENT',
  NOT_ALLOWED_BY_LISTENERS: 'W_GWAPI_NOT_ALLOWED_BY_LISTENERS',
  NO_MATCHING_LISTENER_HOSTNAME: 'W_GWAPI_NO_MATCHING_LISTENER_HOSTNAME',
  BACKEND_NOT_FOUND: 'W_GWAPI_BACKEND_NOT_FOUND',
  PORT_NOT_FOUND: 'W_GWAPI_PORT_NOT_FOUND',
  REF_NOT_PERMITTED: 'W_GWAPI_REF_NOT_PERMITTED',
  INVALID_KIND: 'W_GWAPI_INVALID_KIND',
  /** A rule is dropped (invalid regex, unknown value): `PartiallyInvalid` / `Accepted=False`. */
  UNSUPPORTED_VALUE: 'W_GWAPI_UNSUPPORTED_VALUE',
  /** Valid Gateway API that legate does not implement yet; the part is ignored (or answers 500). */
  NOT_IMPLEMENTED: 'W_GWAPI_NOT_IMPLEMENTED',
  /** A bug in the translator met this object; it is skipped. */
  INTERNAL: 'E_GWAPI_INTERNAL',
  /** A field the API does not have at this place: the API server prunes it, kubectl warns. */
  UNKNOWN_FIELD: 'W_GWAPI_UNKNOWN_FIELD',
  /** A parentRef to a kind other than Gateway (ListenerSet, Service mesh parents). */
  UNSUPPORTED_PARENT: 'W_GWAPI_UNSUPPORTED_PARENT',
} as const;

export const GROUP = 'gateway.networking.k8s.io';
export const EG_GROUP = 'gateway.envoyproxy.io';
/** Envoy Gateway's controller name (EG api/v1alpha1/envoygateway_types.go). */
export const EG_CONTROLLER_NAME = 'gateway.envoyproxy.io/gatewayclass-controller';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export type Condition = { type: string; status: ConditionStatus; reason: string; message: string };

export function condition(type: string, status: ConditionStatus, reason: string, message: string): Condition {
  return { type, status, reason, message };
}
