/**
 * EnvoyProxy objects (config-apis.md 2.1): legate reads none of their settings yet, but a GatewayClass
 * or Gateway names one as its parameters, so an EnvoyProxy the API server would refuse must not be
 * found there. Each is checked by its schema; the invalid ones are reported and left out.
 */
import { checkValue } from '../../schema/check.js';
import type { Diagnostics, LoadedObject } from '../../model.js';
import { EnvoyProxySpec } from './schema.js';
import { EG_CODES, reportProblems } from './spec-reader.js';

const EG_API = 'gateway.envoyproxy.io/';

/** `objects` without the EnvoyProxies that fail their schema (each reported as E_EG_ENVOYPROXY_INVALID). */
export function dropInvalidEnvoyProxies(objects: readonly LoadedObject[], diags: Diagnostics): LoadedObject[] {
  return objects.filter((o) => {
    if (o.kind !== 'EnvoyProxy' || !o.apiVersion.startsWith(EG_API)) return true;
    const { problems } = checkValue(EnvoyProxySpec, o.body['spec'] ?? {}, { base: ['spec'], caseInsensitive: true });
    return !reportProblems(o, diags, problems, EG_CODES.ENVOYPROXY_INVALID);
  });
}
