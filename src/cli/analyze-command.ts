/**
 * `legate analyze -f FILE_OR_DIR [-f ...] [-o text|json]`: resilience pitfalls in manifests.
 * Exit 0 without error findings, 1 with one, 2 when the manifests cannot be read or an option is wrong.
 */
import type { Command } from 'commander';
import { Diagnostics, objectRef } from '../config/model.js';
import { loadManifests, readSources } from '../config/load/load-manifests.js';
import { analyze } from '../analyze/analyze.js';
import { countBySeverity, formatFindings } from '../analyze/format.js';
import { formatDiagnostic } from './format.js';

export function registerAnalyze(program: Command, setCode: (code: number) => void): void {
  program
    .command('analyze')
    .description('find resilience pitfalls in manifests: each with a code, the fields involved, why it matters and the fix')
    .requiredOption('-f, --filename <path...>', 'manifest files or directories ("-" = standard input)')
    .option('-o, --output <format>', 'text or json', 'text')
    .action(async (opts: { filename: string[]; output: string }) => setCode(await runAnalyze(opts)));
}

async function runAnalyze(opts: { filename: string[]; output: string }): Promise<number> {
  if (opts.output !== 'text' && opts.output !== 'json') {
    process.stderr.write(`legate analyze: --output must be "text" or "json", not "${opts.output}"\n`);
    return 2;
  }
  const diags = new Diagnostics();
  const objects = loadManifests(await readSources(opts.filename), diags);
  const unreadable = diags.items.filter((d) => d.code === 'E_SOURCE_READ');
  if (unreadable.length > 0) {
    for (const d of unreadable) process.stderr.write(formatDiagnostic(d) + '\n');
    return 2;
  }
  const { findings, translation } = analyze(objects, diags);
  const counts = countBySeverity(findings);
  const manifest = {
    errors: translation.diagnostics.filter((d) => d.severity === 'error').length,
    warnings: translation.diagnostics.filter((d) => d.severity === 'warning').length,
  };
  if (opts.output === 'json') process.stdout.write(JSON.stringify({ findings, counts, manifestDiagnostics: manifest }, null, 2) + '\n');
  else {
    const pos = new Map(objects.map((o) => [objectRef(o), o.pos]));
    process.stdout.write(formatFindings(findings, (ref) => pos.get(ref)));
    const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
    process.stdout.write(`${plural(counts.error, 'error')}, ${plural(counts.warning, 'warning')}, ${counts.info} info\n`);
    if (manifest.errors + manifest.warnings > 0)
      process.stdout.write(
        `legate validate also reports ${plural(manifest.errors, 'error')} and ${plural(manifest.warnings, 'warning')} for these manifests\n`,
      );
  }
  return counts.error > 0 ? 1 : 0;
}
