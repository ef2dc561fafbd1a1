import { defineConfig } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';

// Code under src/admin/ (county admin and province views) and the map library it alone uses are
// written to assets/admin/ and left out of the service worker's precache: a cadre's phone never
// downloads them unless someone opens /admin.
const ADMIN_ONLY = /\/src\/admin\/|\/node_modules\/leaflet\//;
// Code labels (services/vocabulary/*.json) that only the admin views import travel in their chunk;
// those the phone shows are in the entry.
const VOCABULARY = /\/services\/vocabulary\/[^/]+\.json$/;
// Virtual modules (`\0rolldown/runtime.js`, the CommonJS interop Leaflet pulls in) belong to whichever chunk needs them.
const isAdminChunk = (chunk) => {
  const real = chunk.moduleIds.filter((id) => !id.startsWith('\0'));
  return real.some((id) => ADMIN_ONLY.test(id)) && real.every((id) => ADMIN_ONLY.test(id) || VOCABULARY.test(id));
};
const isAdminAsset = (asset) => (asset.originalFileNames || []).some((name) => ADMIN_ONLY.test(`/${name}`));

// The field app's JS is inlined into index.html: on "Slow 3G" each request costs a 2 s round trip, and
// a separate script would be a second one before the login screen can appear (docs/benchmarks.md).
// - Its relative dynamic imports (the admin chunk) are rewritten to absolute paths, since an inline
//   script resolves them against the page's URL instead of assets/.
// - What the admin chunk imports from the entry (preact, router, language, vocabulary, ...) must be the SAME module
//   instances, not a second copy: the inline entry publishes its exports on a global, and the entry's
//   file name is taken by a tiny module that re-exports them for the admin chunk.
const ENTRY_EXPORTS = '__grassrootsEntry';

function inlineEntry() {
  return {
    name: 'grassroots:inline-entry',
    apply: 'build',
    // After every other plugin: Vite fills its preload placeholders in generateBundle too.
    generateBundle: {
      order: 'post',
      handler(_, bundle) {
        const page = bundle['index.html'];
        const chunk = Object.values(bundle).find((item) => item.type === 'chunk' && item.isEntry);
        if (!page || !chunk) return;
        const html = String(page.source);
        const tag = `<script type="module" crossorigin src="/${chunk.fileName}"></script>`;
        if (!html.includes(tag)) throw new Error(`inline-entry: no ${tag} in index.html`);
        const dir = `/${chunk.fileName.slice(0, chunk.fileName.lastIndexOf('/') + 1)}`;
        let code = chunk.code.replace(/import\((['"`])\.\//g, (_, quote) => `import(${quote}${dir}`);
        const exported = code.match(/export\s*\{([^}]*)\};?\s*$/);
        if (exported) {
          const pairs = exported[1].split(',').map((item) => item.trim()).filter(Boolean).map((item) => {
            const [local, name = local] = item.split(/\s+as\s+/);
            return [local, name];
          });
          code = `${code.slice(0, exported.index)}globalThis.${ENTRY_EXPORTS}={${pairs.map(([l, n]) => `${JSON.stringify(n)}:${l}`).join(',')}};`;
          chunk.code =
            `const e=globalThis.${ENTRY_EXPORTS};` +
            pairs.map(([, n], i) => `const x${i}=e[${JSON.stringify(n)}];`).join('') +
            `export{${pairs.map(([, n], i) => `x${i} as ${n}`).join(',')}};`;
        } else {
          delete bundle[chunk.fileName];
        }
        code = code.replace(/<\/script/gi, '<\\/script');
        page.source = html.replace(tag, () => `<script type="module">${code}</script>`);
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
