/**
 * Path patterns: Go's filepath.Match (`*`, `?`, `[a-z]`, `\` escapes) for COPY sources, plus `**` and
 * `!` exceptions for .dockerignore (moby's patternmatcher: the last matching pattern wins, and a
 * pattern that matches a directory excludes everything under it). Pure.
 */

export class PatternError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PatternError';
  }
}

const reEscape = (c: string): string => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** The pattern as an anchored RegExp; `**` (any number of directories) only when `doubleStar`. */
export function patternToRegExp(pattern: string, doubleStar: boolean): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (doubleStar && pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '\\') {
      const n = pattern[++i];
      if (n === undefined) throw new PatternError(`syntax error in pattern ${JSON.stringify(pattern)}: trailing backslash`);
      re += reEscape(n);
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) throw new PatternError(`syntax error in pattern ${JSON.stringify(pattern)}: unterminated [`);
      let body = pattern.slice(i + 1, end);
      if (body.startsWith('^') || body.startsWith('!')) body = `^${body.slice(1)}`;
      re += `[${body.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else re += reEscape(c);
  }
  try {
    return new RegExp(`^${re}$`);
  } catch (e) {
    throw new PatternError(`syntax error in pattern ${JSON.stringify(pattern)}: ${(e as Error).message}`);
  }
}

/** Clean a relative path the way Go's filepath.Clean does, without a leading "/" ("" for the root). */
export function cleanRel(p: string): string {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out.join('/');
}

export function hasWildcard(p: string): boolean {
  return /[*?[]/.test(p);
}

interface IgnoreRule {
  re: RegExp;
  exception: boolean;
  /** how many path components the pattern has (a directory match covers its subtree) */
}

/** .dockerignore: `matches(rel)` tells whether a context path is excluded. */
export class IgnoreMatcher {
  private constructor(private readonly rules: IgnoreRule[]) {}

  static parse(text: string): IgnoreMatcher {
    const rules: IgnoreRule[] = [];
    for (const raw of text.split(/\r?\n/)) {
      let line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      let exception = false;
      if (line.startsWith('!')) {
        exception = true;
        line = line.slice(1).trim();
      }
      const cleaned = cleanRel(line);
      if (cleaned === '') continue;
      rules.push({ re: patternToRegExp(cleaned, true), exception });
    }
    return new IgnoreMatcher(rules);
  }

  get empty(): boolean {
    return this.rules.length === 0;
  }

  /** Whether the rules exclude a path (relative to the context root, "/"-separated). */
  matches(rel: string): boolean {
    const path = cleanRel(rel);
    if (path === '') return false;
    const parts = path.split('/');
    let excluded = false;
    for (const r of this.rules) {
      let hit = r.re.test(path);
      // a pattern that matches a parent directory matches the path too
      for (let n = parts.length - 1; !hit && n > 0; n--) hit = r.re.test(parts.slice(0, n).join('/'));
      if (hit) excluded = !r.exception;
    }
    return excluded;
  }

  /** Whether some exception could re-include something under `dir` (so its walk cannot be skipped). */
  hasExceptions(): boolean {
    return this.rules.some((r) => r.exception);
  }
}
