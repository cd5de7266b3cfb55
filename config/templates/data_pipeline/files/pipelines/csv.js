/** Parses simple CSV (a header row, comma-separated, no quoted commas) into objects; throws on a ragged row. */
export function parseCsv(text, file = 'input') {
  const [header, ...rows] = text.trim().split(/\r?\n/);
  const cols = header.split(',').map((c) => c.trim());
  return rows.map((line, i) => {
    const cells = line.split(',').map((c) => c.trim());
    if (cells.length !== cols.length) throw new Error(`${file}:${i + 2}: ${cells.length} values, expected ${cols.length} (${cols.join(', ')})`);
    return Object.fromEntries(cols.map((c, j) => [c, cells[j]]));
  });
}

/** Sums `value` by `key`, in batches of `batchSize` rows. */
export function sumBy(rows, key, value, batchSize = 1000) {
  const totals = {};
  for (let i = 0; i < rows.length; i += batchSize) {
    for (const row of rows.slice(i, i + batchSize)) {
      const n = Number(row[value]);
      if (!Number.isFinite(n)) throw new Error(`"${row[value]}" in column ${value} is not a number`);
      totals[row[key]] = (totals[row[key]] ?? 0) + n;
    }
  }
  return totals;
}
