// Minimal spec runner: node scripts/run-specs.mjs
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';

const dir = fileURLToPath(new URL('../specs/', import.meta.url));
let failed = 0;
let passed = 0;
for (const file of readdirSync(dir).filter((f) => f.endsWith('.spec.mjs')).sort()) {
  const { specs } = await import(pathToFileURL(join(dir, file)).href);
  for (const [name, check] of Object.entries(specs)) {
    try {
      await check();
      passed += 1;
      console.log(`PASS ${file} > ${name}`);
    } catch (err) {
      failed += 1;
      console.log(`FAIL ${file} > ${name}\n  ${err.message}`);
    }
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed || passed === 0 ? 1 : 0;
