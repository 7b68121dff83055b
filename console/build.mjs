// Builds the web console into dist/console-web (run by `npm run build` after the server's build): one bundle for the
// page, one for the upload worker, the page and its style sheet. Everything is served from the service itself.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'dist', 'console-web');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

await build({
  entryPoints: [
    { in: join(here, 'src', 'main.tsx'), out: 'console' },
    { in: join(here, 'src', 'styles.css'), out: 'console' },
    { in: join(here, 'src', 'upload-worker.ts'), out: 'upload-worker' },
  ],
  outdir: out,
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  logLevel: 'warning',
});
copyFileSync(join(here, 'src', 'index.html'), join(out, 'index.html'));

const sizes = readdirSync(out).map((name) => {
  const bytes = readFileSync(join(out, name));
  const gzipped = gzipSync(bytes, { level: 9 });
  // Served as it is to browsers that accept gzip (@fastify/static's preCompressed).
  writeFileSync(join(out, `${name}.gz`), gzipped);
  return { name, bytes: bytes.length, gzipped: gzipped.length };
});
const total = sizes.reduce((sum, file) => sum + file.gzipped, 0);
process.stdout.write(
  `console built in dist/console-web: ${sizes.map((file) => `${file.name} ${file.bytes} B (${file.gzipped} B gzipped)`).join(', ')}; ` +
    `${(total / 1024).toFixed(1)} KiB gzipped in all\n`,
);
