import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** What `nightshift login` stores: the API's address and one credential. */
export interface StoredConfig {
  api_url?: string;
  token?: string;
  api_key?: string;
}

export interface ResolvedConfig {
  apiUrl: string;
  token?: string;
  apiKey?: string;
  /** Where each value came from, for `nightshift login --show`. */
  source: { apiUrl: 'env' | 'file' | 'default'; credential: 'env' | 'file' | 'none' };
}

export const DEFAULT_API_URL = 'http://127.0.0.1:3000';

/** `$XDG_CONFIG_HOME/nightshift/config.json`, or `~/.config/nightshift/config.json`. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.length > 0 ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  return join(base, 'nightshift', 'config.json');
}

export function readConfig(path: string): StoredConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return {};
  }
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' ? (value as StoredConfig) : {};
  } catch {
    throw new Error(`${path} is not valid JSON; run nightshift login again`);
  }
}

/** Writes the config readable by its owner only (0600): it holds a credential. */
export function writeConfig(path: string, config: StoredConfig): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/**
 * Environment first (`NIGHTSHIFT_API_URL`, `NIGHTSHIFT_TOKEN`, `NIGHTSHIFT_API_KEY`), then the
 * config file. A credential from the environment replaces the file's, whichever kind it is.
 */
export function resolveConfig(env: NodeJS.ProcessEnv, stored: StoredConfig): ResolvedConfig {
  const envUrl = env.NIGHTSHIFT_API_URL;
  const apiUrl = envUrl || stored.api_url || DEFAULT_API_URL;
  const urlSource = envUrl ? 'env' : stored.api_url ? 'file' : 'default';
  if (env.NIGHTSHIFT_TOKEN || env.NIGHTSHIFT_API_KEY) {
    return { apiUrl, token: env.NIGHTSHIFT_TOKEN || undefined, apiKey: env.NIGHTSHIFT_TOKEN ? undefined : env.NIGHTSHIFT_API_KEY, source: { apiUrl: urlSource, credential: 'env' } };
  }
  const credential = stored.token || stored.api_key ? 'file' : 'none';
  return { apiUrl, token: stored.token, apiKey: stored.token ? undefined : stored.api_key, source: { apiUrl: urlSource, credential } };
}
