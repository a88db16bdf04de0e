/// <reference types="vitest/config" />
import { readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { brotliCompress, constants as zlib, gzip } from "node:zlib";
import { promisify } from "node:util";

import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";

// The API serves the build at /admin/ (api-service/internal/webui); during
// `npm run dev` Vite serves it there too and passes the API's paths on to
// a running API (make run: http://localhost:8080).
const api = process.env.MAILING_API ?? "http://localhost:8080";

// The folder's committed placeholder, kept when the build empties dist/.
const placeholder = ".gitkeep";

// emptyDistKeepingPlaceholder empties dist/ before a build as Vite would,
// but leaves the committed placeholder in place, so a build never shows
// up as a change to the repository.
function emptyDistKeepingPlaceholder(outDir: string): Plugin {
  return {
    name: "mailing:empty-dist",
    apply: "build",
    async buildStart() {
      const entries = await readdir(outDir).catch(() => [] as string[]);
      await Promise.all(entries.filter((e) => e !== placeholder).map((e) => rm(join(outDir, e), { recursive: true, force: true })));
    },
  };
}

const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);

// precompress writes a .gz and a .br beside every text file of the build
// worth compressing; the API sends them to clients that accept them.
function precompress(outDir: string): Plugin {
  const text = /\.(js|mjs|css|html|svg|json|txt|webmanifest)$/;
  return {
    name: "mailing:precompress",
    apply: "build",
    async closeBundle() {
      const files = (await readdir(outDir, { recursive: true })).map(String);
      await Promise.all(
        files
          .filter((f) => text.test(f))
          .map(async (f) => {
            const path = join(outDir, f);
            if (!(await stat(path)).isFile()) return;
            const data = await readFile(path);
            if (data.length < 1024) return;
            const [gz, br] = await Promise.all([
              gzipAsync(data, { level: 9 }),
              brotliAsync(data, {
                params: {
                  [zlib.BROTLI_PARAM_QUALITY]: zlib.BROTLI_MAX_QUALITY,
                  [zlib.BROTLI_PARAM_SIZE_HINT]: data.length,
                },
              }),
            ]);
            await Promise.all([writeFile(path + ".gz", gz), writeFile(path + ".br", br)]);
          }),
      );
    },
  };
}

const outDir = "dist";

export default defineConfig({
  base: "/admin/",
  plugins: [react(), emptyDistKeepingPlaceholder(outDir), precompress(outDir)],
  build: {
    outDir,
    emptyOutDir: false, // emptyDistKeepingPlaceholder does it
    target: "es2022",
    sourcemap: false,
    // The charts are loaded with the pages that draw them.
    chunkSizeWarningLimit: 700,
  },
  server: {
    proxy: {
      "/api": api,
      "/auth": api,
      "/docs": api,
    },
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.{ts,tsx}"],
    setupFiles: ["src/test/setup.ts"],
    css: false,
    restoreMocks: true,
  },
});
