import type { ConfigState } from '../admin/admin-context.js';
import type { ManifestReloader } from '../config/reload.js';

/** What the admin API shows of the control plane: the running config's version, load time, diagnostics and status. */
export function configState(reloader: ManifestReloader, sources: readonly string[]): () => ConfigState | undefined {
  return () => {
    const cur = reloader.current;
    const last = reloader.lastResult;
    if (!cur) return undefined;
    return {
      version: cur.configVersion,
      loadedAt: last ? Date.parse(last.time) : Date.now(),
      diagnostics: last?.diagnostics ?? cur.translation.diagnostics,
      status: cur.translation.status,
      policyStatus: cur.translation.policyStatus,
      sources,
    };
  };
}
