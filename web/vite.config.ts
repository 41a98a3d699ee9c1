import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/*
 * The dashboard: Preact through esbuild's automatic JSX runtime (no plugin needed). The API base
 * URL and OIDC settings are not baked in: the app reads /config.json at run time, so one build
 * serves `npm start` and the CloudFront site alike.
 */
const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  logLevel: 'warn',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: false },
});
