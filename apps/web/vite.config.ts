import react from '@vitejs/plugin-react';
import { defaultClientConditions, defineConfig } from 'vite';
import { precompress } from './precompress.js';

// In development (`npm run dev -w @tandem/web`) the app runs on Vite's port and reaches a Tandem
// server on :8000 through the proxy; in production the server serves dist/ itself.
export default defineConfig({
  plugins: [react(), precompress()],
  resolve: { conditions: ['@tandem/source', ...defaultClientConditions] },
  server: {
    proxy: {
      '/api': 'http://localhost:8000',
      '/ws': { target: 'ws://localhost:8000', ws: true },
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // No source maps: the server would publish them with the app.
    sourcemap: false,
    chunkSizeWarningLimit: 1024,
    // The protocol's modules only define things. Saying so lets the bundler leave what the join
    // screen and the document list do not use (zod, Yjs) to the editor's chunk.
    rolldownOptions: { treeshake: { moduleSideEffects: [{ test: /\/packages\/protocol\/src\//, sideEffects: false }] } },
  },
});
