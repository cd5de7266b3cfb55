/**
 * Languages by file extension, and a line classifier (code, comment, blank) that scans comments and strings with a
 * small state machine per language. JavaScript and TypeScript take their comments from the parser instead (see
 * `jsFunctions.ts`), since template literals and regular expressions need a real parser.
 */

export interface LanguageSpec {
  name: string;
  /** Line comment openers, e.g. `//`, `#`. */
  line: readonly string[];
  /** Block comment delimiters, e.g. `['/*', '*\/']`. */
  block: readonly (readonly [string, string])[];
  /** String quotes whose content is neither code markers nor comments. */
  quotes: readonly string[];
  /** Parsed with oxc-parser for functions and complexity. */
  parsed?: boolean;
}

const C_LIKE = { line: ['//'], block: [['/*', '*/']] as const, quotes: ['"', "'"] };
const HASH = { line: ['#'], block: [] as const, quotes: ['"', "'"] };

const SPECS: Record<string, LanguageSpec> = {
  TypeScript: { name: 'TypeScript', ...C_LIKE, quotes: ['"', "'", '`'], parsed: true },
  JavaScript: { name: 'JavaScript', ...C_LIKE, quotes: ['"', "'", '`'], parsed: true },
  Python: {
    name: 'Python',
    line: ['#'],
    block: [
      ['"""', '"""'],
      ["'''", "'''"],
    ],
    quotes: ['"', "'"],
  },
  Go: { name: 'Go', ...C_LIKE, quotes: ['"', '`'] },
  Rust: { name: 'Rust', ...C_LIKE, quotes: ['"'] },
  Java: { name: 'Java', ...C_LIKE },
  Kotlin: { name: 'Kotlin', ...C_LIKE },
  Swift: { name: 'Swift', ...C_LIKE, quotes: ['"'] },
  C: { name: 'C', ...C_LIKE },
  'C++': { name: 'C++', ...C_LIKE },
  'C#': { name: 'C#', ...C_LIKE },
  PHP: { name: 'PHP', line: ['//', '#'], block: [['/*', '*/']], quotes: ['"', "'"] },
  Ruby: { name: 'Ruby', ...HASH },
  Shell: { name: 'Shell', ...HASH },
  YAML: { name: 'YAML', ...HASH },
  CSS: { name: 'CSS', line: [], block: [['/*', '*/']], quotes: ['"', "'"] },
  SCSS: { name: 'SCSS', ...C_LIKE },
  HTML: { name: 'HTML', line: [], block: [['<!--', '-->']], quotes: [] },
  Markdown: { name: 'Markdown', line: [], block: [['<!--', '-->']], quotes: [] },
  SQL: { name: 'SQL', line: ['--'], block: [['/*', '*/']], quotes: ["'"] },
};

const BY_EXTENSION: Record<string, string> = {
  '.ts': 'TypeScript',
  '.tsx': 'TypeScript',
  '.mts': 'TypeScript',
  '.cts': 'TypeScript',
  '.js': 'JavaScript',
  '.jsx': 'JavaScript',
  '.mjs': 'JavaScript',
  '.cjs': 'JavaScript',
  '.py': 'Python',
  '.go': 'Go',
  '.rs': 'Rust',
  '.java': 'Java',
  '.kt': 'Kotlin',
  '.kts': 'Kotlin',
  '.swift': 'Swift',
  '.c': 'C',
  '.h': 'C',
  '.cc': 'C++',
  '.cpp': 'C++',
  '.cxx': 'C++',
  '.hpp': 'C++',
  '.hh': 'C++',
  '.cs': 'C#',
  '.php': 'PHP',
  '.rb': 'Ruby',
  '.sh': 'Shell',
  '.bash': 'Shell',
  '.zsh': 'Shell',
  '.yaml': 'YAML',
  '.yml': 'YAML',
  '.css': 'CSS',
  '.scss': 'SCSS',
  '.html': 'HTML',
  '.htm': 'HTML',
  '.md': 'Markdown',
  '.sql': 'SQL',
};

/** The language of a file name, or undefined when it is not one codomyrmex measures. */
export function languageOf(fileName: string): LanguageSpec | undefined {
  const dot = fileName.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const name = BY_EXTENSION[fileName.slice(dot).toLowerCase()];
  return name ? SPECS[name] : undefined;
}

export interface LineCounts {
  lines: number;
  code: number;
  comment: number;
  blank: number;
  /** Lines longer than the limit. */
  longLines: number;
  todos: number;
  fixmes: number;
}

const MARKER = /\b(TODO|FIXME|XXX|HACK)\b/g;

/** Counts TODO (and XXX, HACK) and FIXME markers in comment text. */
export function countMarkers(text: string, into: { todos: number; fixmes: number }): void {
  for (const m of text.matchAll(MARKER)) {
    if (m[1] === 'FIXME') into.fixmes++;
    else into.todos++;
  }
}

/** Starts of every line (offset 0 first), for offset → line lookups. */
export function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

/** The 1-based line of an offset. */
export function lineOf(starts: readonly number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((starts[mid] ?? 0) <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

/**
 * Classifies lines given the comment spans (sorted `[start, end)` offsets): a line with code outside comments is
 * code, one with only comment text is a comment line, one with neither is blank. A trailing newline does not make
 * an extra line.
 */
export function classifyLines(
  text: string,
  comments: readonly (readonly [number, number])[],
  maxLineLength: number,
): LineCounts {
  const out: LineCounts = { lines: 0, code: 0, comment: 0, blank: 0, longLines: 0, todos: 0, fixmes: 0 };
  if (text.length === 0) return out;
  let c = 0;
  let hasCode = false;
  let hasComment = false;
  let lineStart = 0;
  const endLine = (i: number): void => {
    out.lines++;
    if (hasCode) out.code++;
    else if (hasComment) out.comment++;
    else out.blank++;
    if (i - lineStart > maxLineLength) out.longLines++;
    hasCode = false;
    hasComment = false;
    lineStart = i + 1;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    while (c < comments.length && (comments[c]?.[1] ?? 0) <= i) c++;
    const span = comments[c];
    const inComment = span !== undefined && span[0] <= i && i < span[1];
    if (ch === 10) {
      endLine(i);
      continue;
    }
    if (ch === 32 || ch === 9 || ch === 13 || ch === 12 || ch === 11) continue;
    if (inComment) hasComment = true;
    else hasCode = true;
  }
  if (lineStart < text.length) endLine(text.length);
  for (const [s, e] of comments) countMarkers(text.slice(s, e), out);
  return out;
}

/** Finds comment spans with the language's delimiters, skipping strings. Linear in the text. */
export function scanComments(text: string, lang: LanguageSpec): [number, number][] {
  const spans: [number, number][] = [];
  const n = text.length;
  let i = 0;
  outer: while (i < n) {
    for (const open of lang.line) {
      if (text.startsWith(open, i)) {
        const end = text.indexOf('\n', i);
        const stop = end === -1 ? n : end;
        spans.push([i, stop]);
        i = stop;
        continue outer;
      }
    }
    for (const [open, close] of lang.block) {
      if (text.startsWith(open, i)) {
        const end = text.indexOf(close, i + open.length);
        const stop = end === -1 ? n : end + close.length;
        spans.push([i, stop]);
        i = stop;
        continue outer;
      }
    }
    const ch = text[i] as string;
    if (lang.quotes.includes(ch)) {
      // A string: to the closing quote (escapes skipped), never past the line for single-line quotes.
      let j = i + 1;
      while (j < n) {
        const cj = text[j];
        if (cj === '\\') j += 2;
        else if (cj === ch) break;
        else if (cj === '\n' && ch !== '`') break;
        else j++;
      }
      i = j + 1;
      continue;
    }
    i++;
  }
  return spans;
}
