/**
 * Naming a PostgreSQL store: whether a `--db` value is a PostgreSQL URL, the URL as shown (never its password),
 * and the `StoreError` a failed open is reported as (unreachable, refused login, a newer schema, the lease held).
 */
import { ErrorCode, StoreError } from '../errors.js';
import { PgThreadError } from './postgresThread.js';

/** The URL without its password, for messages and status. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '';
    return u.toString().replace(/^(postgres(?:ql)?:\/\/[^@/]*?):?@/, '$1@');
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

/** Whether a `--db` value names a PostgreSQL database rather than a SQLite file. */
export function isPostgresUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value);
}

/** The `StoreError` an open of the database at `location` failed with, naming the cause and what to check. */
export function openError(err: unknown, location: string): StoreError {
  if (err instanceof StoreError) return err;
  if (!(err instanceof PgThreadError))
    return new StoreError(
      `cannot open the database ${location}: ${err instanceof Error ? err.message : String(err)}`,
      ErrorCode.STORE_UNAVAILABLE,
      { cause: err },
    );
  switch (err.kind) {
    case 'auth':
      return new StoreError(
        `cannot log in to the database ${location}: ${err.message}. Check the user and password (in the URL, or PGPASSWORD)`,
        ErrorCode.STORE_UNAVAILABLE,
        { cause: err },
      );
    case 'version':
    case 'behind':
      return new StoreError(err.message, ErrorCode.STORE_VERSION, { cause: err });
    case 'locked':
      return new StoreError(err.message, ErrorCode.STORE_LOCKED, { cause: err });
    default:
      return new StoreError(
        `cannot reach the database ${location}: ${err.message}${err.code ? ` (${err.code})` : ''}. Is PostgreSQL running there, and is the URL right?`,
        ErrorCode.STORE_UNAVAILABLE,
        { cause: err },
      );
  }
}
