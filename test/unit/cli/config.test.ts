import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configPath, readConfig, resolveConfig, writeConfig } from '../../../cli/config.js';

describe('the CLI configuration', () => {
  it('lives under $XDG_CONFIG_HOME, else ~/.config', () => {
    expect(configPath({ XDG_CONFIG_HOME: '/x' })).toBe('/x/nightshift/config.json');
    expect(configPath({})).toMatch(/\.config\/nightshift\/config\.json$/);
  });

  it('is written readable by its owner only, even over a file that was world-readable', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'ns-config-')), 'nightshift', 'config.json');
    writeConfig(path, { api_url: 'http://a' });
    writeFileSync(path, '{}', { mode: 0o644 });
    writeConfig(path, { api_url: 'http://a', token: 't' });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readConfig(path)).toEqual({ api_url: 'http://a', token: 't' });
  });

  it('reads a missing file as empty and refuses a broken one with what to do', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ns-config-'));
    expect(readConfig(join(dir, 'none.json'))).toEqual({});
    writeFileSync(join(dir, 'bad.json'), '{not json');
    expect(() => readConfig(join(dir, 'bad.json'))).toThrow(/nightshift login/);
    expect(readFileSync(join(dir, 'bad.json'), 'utf8')).toBe('{not json');
  });

  it.each([
    ['the file alone', {}, { api_url: 'http://file', token: 'ft' }, { apiUrl: 'http://file', token: 'ft', apiKey: undefined }],
    ['nothing: the local default', {}, {}, { apiUrl: 'http://127.0.0.1:3000', token: undefined, apiKey: undefined }],
    ['env URL over the file', { NIGHTSHIFT_API_URL: 'http://env' }, { api_url: 'http://file', token: 'ft' }, { apiUrl: 'http://env', token: 'ft' }],
    ['an env API key replaces a file token', { NIGHTSHIFT_API_KEY: 'ek' }, { token: 'ft' }, { token: undefined, apiKey: 'ek' }],
    ['an env token wins over an env key', { NIGHTSHIFT_TOKEN: 'et', NIGHTSHIFT_API_KEY: 'ek' }, { api_key: 'fk' }, { token: 'et', apiKey: undefined }],
  ])('%s', (_what, env, stored, expected) => {
    expect(resolveConfig(env as NodeJS.ProcessEnv, stored)).toMatchObject(expected);
  });
});
