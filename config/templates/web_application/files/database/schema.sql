-- The database schema of {{project.name}}.
CREATE TABLE IF NOT EXISTS visits (
  id INTEGER PRIMARY KEY,
  path TEXT NOT NULL,
  at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
