import type { Diagnostic } from '../ir/diagnostic.js';

/** `file:line:column: error E_CODE: message [Kind/ns/name field] (fix: ...)` */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.file ? `${d.file}:${d.line ?? 1}:${d.column ?? 1}: ` : '';
  const what = d.object ? ` [${d.object}${d.field ? ` ${d.field}` : ''}]` : '';
  return `${where}${d.severity} ${d.code}: ${d.message}${what}${d.fix ? ` (fix: ${d.fix})` : ''}`;
}
