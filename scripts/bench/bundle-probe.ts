/* The bundle rows alone (issue 13's size and init rows): `--runs N` imports of each Lambda bundle, printed as { name: [KiB, init ms] }. */
import { measureBundles } from './bundles.js';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] ?? 5) || 5;
const figures = await measureBundles(runs);
console.log(JSON.stringify(Object.fromEntries(figures.map((f) => [f.name, [Math.round(f.bytes / 102.4) / 10, Math.round(f.initMs)]]))));
