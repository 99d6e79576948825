/** A fault and a retry on one route: Envoy's fault filter runs before the router, once per request. */
import { httpToGrpcStatus } from '../../common/grpc-status.js';
import { AnalysisContext } from '../context.js';
import { involved, routeFinding, type Rule } from '../finding.js';
import { grpcTrigger, httpTrigger, list, percent } from '../semantics.js';

export const faultNotRetried: Rule = {
  code: 'A_FAULT_NOT_RETRIED',
  severity: 'warning',
  title: 'an injected fault is never retried',
  run: (ctx) =>
    ctx.routes.flatMap((v) => {
      const fault = v.route.fault;
      const retry = AnalysisContext.activeRetry(v);
      const abort = fault?.abort;
      if (!fault || !abort || fault.scope !== 'request' || !retry) return [];
      // The status the retry policy would see if the fault came from the backend.
      let status: string;
      let trigger: string | undefined;
      if (abort.fromHeader) {
        status = 'the status named by the x-envoy-fault-abort-request header';
        trigger = 'any trigger matching that status';
      } else if (v.grpc || abort.grpcStatus !== undefined) {
        const code = abort.grpcStatus ?? httpToGrpcStatus(abort.httpStatus ?? 500);
        status = abort.grpcStatus !== undefined ? `grpc-status ${code}` : `HTTP ${abort.httpStatus} (grpc-status ${code} on gRPC calls)`;
        trigger = grpcTrigger(retry, code);
      } else {
        status = `HTTP ${abort.httpStatus}`;
        trigger = httpTrigger(retry, abort.httpStatus ?? 0);
      }
      if (!trigger) return [];
      const o = fault.origin;
      const abortKey = ['abort.httpStatus', 'abort.grpcStatus', 'abort.fromHeader', 'abort'].find((k) => o[k]) ?? 'abort';
      const share = percent(abort.percent);
      return [
        routeFinding('A_FAULT_NOT_RETRIED', 'warning', v, {
          message:
            `the fault aborts ${share} of requests with ${status} before routing, once per request: ` +
            `the retry policy (retryOn ${list(retry.retryOn)}, ${retry.numRetries} retries) never sees it, although ${trigger} ` +
            `would retry that status from a backend; those requests fail at once with "fault filter abort" (flag FI) and no attempt. ` +
            `Envoy, Istio and Envoy Gateway all place the fault this way`,
          fix:
            `to test retries against injected errors, annotate ${objectOf(o[abortKey]) ?? 'the object that defines the fault'} with ` +
            `legate.dev/fault-scope: attempt (legate then decides the fault per attempt, as if the host answered, so retries see it), ` +
            `or inject the errors in the backend (fake-service ERROR_RATE and ERROR_CODE), which Envoy retries`,
          involves: [
            involved(`fault.${abortKey}`, abort.httpStatus ?? abort.grpcStatus ?? 'from header', o[abortKey]),
            involved('fault.abort.percent', share, o['abort.percent']),
            involved('fault.scope', fault.scope, o.scope),
            involved('retry.retryOn', retry.retryOn, retry.origin.retryOn),
            involved('retry.numRetries', retry.numRetries, retry.origin.numRetries),
          ],
        }),
      ];
    }),
};

function objectOf(origin: { kind: string; object?: string } | undefined): string | undefined {
  return origin?.kind === 'manifest' ? origin.object : undefined;
}
