#!/usr/bin/env node
// `npx nightshift`: runs the TypeScript CLI through tsx, so the repository needs no build step.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
