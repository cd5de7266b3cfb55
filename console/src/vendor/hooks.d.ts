// Served as /assets/vendor/hooks.js from node_modules/preact/hooks/dist/hooks.mjs (src/edges/http/assets.ts).
export * from 'preact/hooks';
