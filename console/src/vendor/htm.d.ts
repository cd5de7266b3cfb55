// Served as /assets/vendor/htm.js from node_modules/htm/dist/htm.module.js (src/edges/http/assets.ts).
export { default } from 'htm';
