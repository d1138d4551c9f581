// Builds the web console to console/dist, served by the gateway at /console (scripts/build.js
// runs this). `npx vite console` serves it in development and forwards the API to a gateway
// running on its default port.
import { defineConfig } from 'vite';

const gateway = 'http://127.0.0.1:3000';

export default defineConfig({
  root: import.meta.dirname,
  base: '/console/',
  // React's automatic JSX runtime, compiled by Vite's own transformer (no plugin needed).
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    target: 'es2022',
    // One entry and a small app: no need for a separate vendor chunk.
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: { '/graphql': gateway, '/releases': gateway, '/health': gateway },
  },
});
