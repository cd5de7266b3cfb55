/** A throwaway PostgreSQL cluster per test file (shared with the benchmarks). */
export { startPostgres, postgresMissing } from '../../benchmarks/postgresServer.js';
export type { TestPostgres } from '../../benchmarks/postgresServer.js';
