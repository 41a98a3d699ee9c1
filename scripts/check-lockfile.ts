/**
 * Fails when package-lock.json lacks an optional per-platform package that a native dependency
 * declares (rollup's, esbuild's...). npm then installs on the machine that wrote the lock, but
 * `npm ci` refuses on a fresh clone on any other platform ("Missing: ... from lock file").
 * Usage: tsx scripts/check-lockfile.ts [path/to/package-lock.json]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface LockPackage {
  version?: string;
  optionalDependencies?: Record<string, string>;
}

/** The optional dependencies named in the lock that no lock entry provides, as "parent -> name". */
export function missingOptionalPackages(lock: { packages?: Record<string, LockPackage> }): string[] {
  const packages = lock.packages ?? {};
  const missing: string[] = [];
  for (const [path, entry] of Object.entries(packages)) {
    for (const name of Object.keys(entry.optionalDependencies ?? {})) {
      // Node's resolution: the package's own node_modules, then each enclosing one, up to the root.
      const candidates: string[] = [];
      let base = path;
      for (;;) {
        candidates.push(`${base ? `${base}/` : ''}node_modules/${name}`);
        const cut = base.lastIndexOf('node_modules/');
        if (cut < 0) break;
        base = base.slice(0, cut).replace(/\/$/, '');
      }
      if (!candidates.some((candidate) => candidate in packages)) missing.push(`${path || '(root)'} -> ${name}`);
    }
  }
  return missing;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = process.argv[2] ?? 'package-lock.json';
  const missing = missingOptionalPackages(JSON.parse(readFileSync(file, 'utf8')));
  if (missing.length > 0) {
    console.error(`${file} lacks ${missing.length} optional platform package(s); \`npm ci\` fails on those platforms:`);
    for (const line of missing) console.error(`  ${line}`);
    console.error('Regenerate it from scratch: rm -rf node_modules package-lock.json && npm install');
    process.exit(1);
  }
  console.log(`${file}: every optional platform package is locked`);
}
