import { defineConfig } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';

// Code under src/admin/ (county admin and province views) and the map library it alone uses are
// written to assets/admin/ and left out of the service worker's precache: a cadre's phone never
// downloads them unless someone opens /admin.
const ADMIN_ONLY = /\/src\/admin\/|\/node_modules\/leaflet\//;
// Virtual modules (`\0rolldown/runtime.js`, the CommonJS interop Leaflet pulls in) belong to whichever chunk needs them.
const isAdminChunk = (chunk) => {
  const real = chunk.moduleIds.filter((id) => !id.startsWith('\0'));
  return real.length > 0 && real.every((id) => ADMIN_ONLY.test(id));
};
const isAdminAsset = (asset) => (asset.originalFileNames || []).some((name) => ADMIN_ONLY.test(`/${name}`));

// The field app's JS is inlined into index.html: on "Slow 3G" each request costs a 2 s round trip, and
// a separate script would be a second one before the login screen can appear (docs/benchmarks.md).
// Its relative dynamic imports (the admin chunk) are rewritten to absolute paths, since an inline
// script resolves them against the page's URL instead of assets/.
function inlineEntry() {
  return {
    name: 'grassroots:inline-entry',
    apply: 'build',
    enforce: 'post',
    transformIndexHtml: {
      order: 'post',
      handler(html, { bundle, chunk }) {
        if (!bundle || !chunk) return html;
        const tag = `<script type="module" crossorigin src="/${chunk.fileName}"></script>`;
        if (!html.includes(tag)) throw new Error(`inline-entry: no ${tag} in index.html`);
        const dir = `/${chunk.fileName.slice(0, chunk.fileName.lastIndexOf('/') + 1)}`;
        const code = chunk.code
          .replace(/import\((['"`])\.\//g, (_, quote) => `import(${quote}${dir}`)
          .replace(/<\/script/gi, '<\\/script');
        delete bundle[chunk.fileName];
        return html.replace(tag, () => `<script type="module">${code}</script>`);
      },
    },
  };
}

export default defineConfig({
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    target: ['chrome80', 'safari14', 'firefox80'],
    rolldownOptions: {
      output: {
        chunkFileNames: (chunk) => (isAdminChunk(chunk) ? 'assets/admin/[name]-[hash].js' : 'assets/[name]-[hash].js'),
        assetFileNames: (asset) =>
          isAdminAsset(asset) ? 'assets/admin/[name]-[hash][extname]' : 'assets/[name]-[hash][extname]',
      },
    },
  },
  plugins: [
    inlineEntry(),
    VitePWA({
      strategies: 'injectManifest',
      srcDir: 'src',
      filename: 'sw.js',
      injectRegister: false, // main.jsx registers it after the first screen
      manifest: {
        name: '下基层',
        short_name: '下基层',
        description: '组工干部走访、谈心谈话与民情记录',
        lang: 'zh-CN',
        start_url: '/today',
        scope: '/',
        display: 'standalone',
        orientation: 'portrait',
        theme_color: '#b3261e',
        background_color: '#ffffff',
        icons: [
          { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png' },
          { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png' },
          { src: '/icons/icon-maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
      },
      injectManifest: {
        globPatterns: ['**/*.{js,css,html,png,webmanifest}'],
        globIgnores: ['assets/admin/**', 'sw.js'],
      },
    }),
  ],
});
