import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const here = fileURLToPath(new URL('.', import.meta.url));
const backend = process.env.TRAINYARD_DASHBOARD_BACKEND ?? 'http://127.0.0.1:3000';

export default defineConfig({
  root: here,
  // Relative asset URLs: the app serves dist/ at '/', and hash routing never changes the path.
  base: './',
  plugins: [react()],
  resolve: {
    alias: { '@contracts': fileURLToPath(new URL('../../src/contracts', import.meta.url)) },
  },
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    sourcemap: true,
    chunkSizeWarningLimit: 600,
  },
  server: {
    host: '127.0.0.1',
    proxy: {
      '/api': { target: backend, changeOrigin: true },
      '/socket.io': { target: backend, ws: true, changeOrigin: true },
    },
  },
});
