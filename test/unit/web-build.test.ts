import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { webBuildIsStale } from '../../scripts/local/web-app.js';

describe('npm start rebuilds the dashboard only when it must', () => {
  let web: string;
  const at = (file: string, ms: number) => utimesSync(file, ms / 1000, ms / 1000);
  // Well after anything in the checkout (src/client counts as a source too).
  const later = Date.now() + 3_600_000;

  beforeEach(() => {
    web = mkdtempSync(join(tmpdir(), 'nightshift-web-'));
    mkdirSync(join(web, 'src'));
    writeFileSync(join(web, 'src', 'app.tsx'), 'export {}');
    at(join(web, 'src', 'app.tsx'), later);
  });
  afterEach(() => rmSync(web, { recursive: true, force: true }));

  it('builds when there is no build', () => {
    expect(webBuildIsStale(web)).toBe(true);
  });

  it('keeps a build newer than every source, and rebuilds once a source changes', () => {
    mkdirSync(join(web, 'dist'));
    writeFileSync(join(web, 'dist', 'index.html'), '<!doctype html>');
    at(join(web, 'dist', 'index.html'), later + 1000);
    expect(webBuildIsStale(web)).toBe(false);

    at(join(web, 'src', 'app.tsx'), later + 2000);
    expect(webBuildIsStale(web)).toBe(true);
  });
});
