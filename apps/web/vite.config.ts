import react from '@vitejs/plugin-react';
import { defaultClientConditions, defineConfig } from 'vite';

// In development (`npm run dev -w @tandem/web`) the app runs on Vite's port and reaches a Tandem
// server on :8000 through the proxy; in production the server serves dist/ itself.
export default defineConfig({
  plugins: [react()],
  resolve: { conditions: ['@tandem/source', ...defaultClientConditions] },
  server: {
    proxy: {
      '/api': 'http://localhost:8000',
      '/ws': { target: 'ws://localhost:8000', ws: true },
    },
  },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 1024 },
});
