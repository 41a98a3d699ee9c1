import { ensureWebBuild } from '../../scripts/local/web-app.js';

/** The browser suite tests the built app, as `npm start` serves it: build it once per run when stale. */
export async function setup(): Promise<void> {
  await ensureWebBuild((line) => console.log(`browser tests: ${line}`));
}
