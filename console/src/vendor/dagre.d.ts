// Served as /assets/vendor/dagre.js from node_modules/@dagrejs/dagre/dist/dagre.esm.js (src/edges/http/assets.ts).
export * from '@dagrejs/dagre';
export { default } from '@dagrejs/dagre';
