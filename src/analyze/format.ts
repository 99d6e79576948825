/** Human output of `legate analyze`: findings grouped by the object they point at, with file:line. */
import type { SourcePos } from '../config/model.js';
import type { Finding, Involved } from './finding.js';

const at = (x: { file?: string; line?: number; column?: number }) => (x.file ? `${x.file}:${x.line ?? 1}:${x.column ?? 1}` : '');

function where(i: Involved): string {
  if (i.object) return `${i.object} ${i.field ?? ''}${i.file ? ` (${at(i)})` : ''}`.replace(/ +\(/, ' (');
  if (i.default) return `default: ${i.default}`;
  return i.derived ? `derived: ${i.derived}` : 'not set';
}

export function formatFindings(findings: readonly Finding[], objectPos: (ref: string) => SourcePos | undefined): string {
  const groups = new Map<string, Finding[]>();
  for (const f of findings) {
    const key = f.object ?? '';
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  const out: string[] = [];
  for (const [object, list] of groups) {
    const pos = object ? objectPos(object) : undefined;
    out.push(object ? `${object}${pos ? ` (${at(pos)})` : ''}` : '(no manifest field)');
    for (const f of list) {
      out.push(`  ${f.file ? `${at(f)}: ` : ''}${f.severity} ${f.code}${f.field ? ` [${f.field}]` : ''}`);
      out.push(`    ${f.message}`);
      for (const i of f.involves) out.push(`    - ${i.setting}${i.value !== undefined ? ` = ${i.value}` : ''}: ${where(i)}`);
      if (f.routes?.length) out.push(`    routes: ${f.routes.join(', ')}`);
      if (f.clusters?.length) out.push(`    clusters: ${f.clusters.join(', ')}`);
      out.push(`    fix: ${f.fix}`);
    }
    out.push('');
  }
  return out.join('\n');
}

export function countBySeverity(findings: readonly Finding[]): { error: number; warning: number; info: number } {
  const c = { error: 0, warning: 0, info: 0 };
  for (const f of findings) c[f.severity]++;
  return c;
}
