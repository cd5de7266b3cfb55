// Starter code of {{project.name}}: a tiny analyzer the ai-analysis workflow has something to look at.
// TODO: replace with the code you want to analyze.

/** Counts lines, blank lines and TODO markers of a text. */
export function measure(text) {
  const lines = text.split('\n');
  return {
    lines: lines.length,
    blank: lines.filter((l) => l.trim() === '').length,
    todos: (text.match(/\b(TODO|FIXME)\b/g) ?? []).length,
  };
}

/** Lines longer than `max` characters (the project's analysis.max_line_length). */
export function longLines(text, max = {{project.config.analysis.max_line_length}}) {
  return text.split('\n').filter((l) => l.length > max).length;
}
