// Served as /assets/vendor/preact.js from node_modules/preact/dist/preact.mjs (src/edges/http/assets.ts).
export * from 'preact';
