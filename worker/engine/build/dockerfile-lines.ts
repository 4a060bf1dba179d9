/**
 * The first pass over a Dockerfile: parser directives (`# escape=`), comments, line continuations and
 * instruction keywords. Pure; every logical instruction keeps the line it starts on.
 */
import { DockerfileError } from './dockerfile-error.js';

export interface Directives {
  escape: string;
  syntax?: string;
}

export interface RawInstruction {
  /** upper case keyword */
  keyword: string;
  /** everything after the keyword, continuations joined, trimmed */
  rest: string;
  /** the instruction as written, continuations joined (what "Step n/m :" shows) */
  original: string;
  /** 1-based line where it starts */
  line: number;
}

const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.*?)\s*$/;
const KNOWN_DIRECTIVES = new Set(['escape', 'syntax', 'check']);

/** Reads the directives at the top of the file; returns them and the index of the first line after them. */
function readDirectives(lines: readonly string[], file: string): { directives: Directives; next: number } {
  const directives: Directives = { escape: '\\' };
  const seen = new Set<string>();
  let i = 0;
  for (; i < lines.length; i++) {
    const m = DIRECTIVE.exec(lines[i]!);
    if (m === null) break;
    const key = m[1]!.toLowerCase();
    if (!KNOWN_DIRECTIVES.has(key)) break; // an ordinary comment ends the directives
    if (seen.has(key)) throw new DockerfileError(file, i + 1, `only one ${key} parser directive can be used`);
    seen.add(key);
    const value = m[2]!;
    if (key === 'escape') {
      if (value !== '\\' && value !== '`') throw new DockerfileError(file, i + 1, `invalid escape token '${value}' does not match ${'`'} or \\`);
      directives.escape = value;
    } else if (key === 'syntax') directives.syntax = value;
  }
  return { directives, next: i };
}

function isComment(line: string): boolean {
  return /^\s*#/.test(line);
}

/** A line ending in the escape token (trailing blanks allowed) continues on the next one. */
function continuation(line: string, escape: string): string | undefined {
  const trimmed = line.replace(/[ \t]+$/, '');
  if (!trimmed.endsWith(escape)) return undefined;
  return trimmed.slice(0, -escape.length);
}

export function splitInstructions(text: string, file = 'Dockerfile'): { directives: Directives; instructions: RawInstruction[] } {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const { directives, next } = readDirectives(lines, file);
  const out: RawInstruction[] = [];
  let i = next;
  while (i < lines.length) {
    const first = lines[i]!;
    if (first.trim() === '' || isComment(first)) {
      i++;
      continue;
    }
    const start = i + 1;
    let joined = '';
    let line = first;
    for (;;) {
      const cont = continuation(line, directives.escape);
      if (cont === undefined) {
        joined += line;
        i++;
        break;
      }
      joined += cont;
      i++;
      // comment lines and blank lines inside a continuation are skipped
      while (i < lines.length && (isComment(lines[i]!) || lines[i]!.trim() === '')) i++;
      if (i >= lines.length) break;
      line = lines[i]!;
    }
    const m = /^\s*(\S+)(?:\s+([\s\S]*))?$/.exec(joined);
    if (m === null) continue;
    const keyword = m[1]!.toUpperCase();
    out.push({ keyword, rest: (m[2] ?? '').trim(), original: joined.trim(), line: start });
  }
  return { directives, instructions: out };
}
