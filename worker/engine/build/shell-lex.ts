/**
 * Dockerfile word processing (moby's shell.Lex): quotes, the escape token and variable substitution —
 * `$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR-word}`, `${VAR:+word}`, `${VAR+word}`, `${VAR:?msg}`,
 * `${VAR?msg}`. Pure: the environment is an argument. Used for ADD COPY ENV EXPOSE FROM LABEL
 * STOPSIGNAL USER VOLUME WORKDIR ARG (RUN, CMD and ENTRYPOINT are left to the shell).
 */

export type Env = ReadonlyMap<string, string>;

export class ShellLexError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShellLexError';
  }
}

/** Collects the words of a processed string: literal and expanded whitespace splits, quoted text never does. */
class Words {
  readonly list: string[] = [];
  private cur = '';
  private inWord = false;

  addChar(ch: string): void {
    if (/\s/.test(ch) && this.inWord) {
      this.list.push(this.cur);
      this.cur = '';
      this.inWord = false;
    } else if (!/\s/.test(ch)) this.addRawChar(ch);
  }

  addRawChar(ch: string): void {
    this.cur += ch;
    this.inWord = true;
  }

  addString(s: string): void {
    for (const ch of s) this.addChar(ch);
  }

  addRawString(s: string): void {
    this.cur += s;
    this.inWord = true;
  }

  finish(): string[] {
    if (this.inWord) this.list.push(this.cur);
    return this.list;
  }
}

const NAME_START = /[A-Za-z0-9_]/;

class Lexer {
  private pos = 0;
  constructor(
    private readonly src: string,
    private readonly env: Env,
    private readonly escape: string,
  ) {}

  private peek(): string | undefined {
    return this.src[this.pos];
  }

  private next(): string | undefined {
    return this.src[this.pos++];
  }

  /** Processes until `stop` (unconsumed) or the end; returns the text and its words. */
  process(stop?: string): { text: string; words: string[] } {
    let text = '';
    const words = new Words();
    for (;;) {
      const ch = this.peek();
      if (ch === undefined || ch === stop) break;
      if (ch === "'") {
        const s = this.singleQuoted();
        text += s;
        words.addRawString(s);
      } else if (ch === '"') {
        const s = this.doubleQuoted();
        text += s;
        words.addRawString(s);
      } else if (ch === '$') {
        const s = this.dollar();
        text += s;
        words.addString(s);
      } else {
        this.next();
        if (ch === this.escape) {
          const esc = this.next();
          if (esc === undefined) break; // a lone escape at the end is dropped
          text += esc;
          words.addRawChar(esc);
        } else {
          text += ch;
          words.addChar(ch);
        }
      }
    }
    return { text, words: words.finish() };
  }

  private singleQuoted(): string {
    this.next();
    let s = '';
    for (;;) {
      const ch = this.next();
      if (ch === undefined) throw new ShellLexError('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") return s;
      s += ch;
    }
  }

  private doubleQuoted(): string {
    this.next();
    let s = '';
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) throw new ShellLexError('unexpected end of statement while looking for matching double-quote');
      if (ch === '"') {
        this.next();
        return s;
      }
      if (ch === '$') {
        s += this.dollar();
        continue;
      }
      this.next();
      if (ch === this.escape) {
        const after = this.peek();
        if (after === '"' || after === '$' || after === this.escape) {
          s += this.next()!;
          continue;
        }
      }
      s += ch;
    }
  }

  private name(): string {
    let n = '';
    const first = this.peek();
    if (first === undefined || !NAME_START.test(first)) return '';
    // a positional parameter ($1) is one digit, as in the shell
    if (/[0-9]/.test(first)) return this.next()!;
    while (this.peek() !== undefined && /[A-Za-z0-9_]/.test(this.peek()!)) n += this.next()!;
    return n;
  }

  private dollar(): string {
    this.next(); // the $
    if (this.peek() !== '{') {
      const n = this.name();
      if (n === '') return '$';
      return this.env.get(n) ?? '';
    }
    this.next(); // the {
    const n = this.name();
    if (n === '') throw new ShellLexError(`bad substitution: a variable name is expected after \${ in ${JSON.stringify(this.src)}`);
    const ch = this.next();
    if (ch === '}') return this.env.get(n) ?? '';
    if (ch === undefined) throw new ShellLexError(`missing '}' in ${JSON.stringify(this.src)}`);
    let colon = false;
    let op = ch;
    if (ch === ':') {
      colon = true;
      op = this.next() ?? '';
    }
    if (op !== '-' && op !== '+' && op !== '?') throw new ShellLexError(`unsupported modifier (${colon ? ':' : ''}${op}) in substitution of ${n}`);
    const word = this.process('}').text;
    if (this.next() !== '}') throw new ShellLexError(`missing '}' in ${JSON.stringify(this.src)}`);
    const value = this.env.get(n);
    const isSet = value !== undefined && (!colon || value !== '');
    switch (op) {
      case '-':
        return isSet ? value : word;
      case '+':
        return isSet ? word : '';
      default:
        if (!isSet) throw new ShellLexError(`${n}: ${word === '' ? 'is not allowed to be unset' : word}`);
        return value;
    }
  }
}

/** One word: quotes removed, escapes applied, variables substituted. */
export function processWord(word: string, env: Env, escape = '\\'): string {
  return new Lexer(word, env, escape).process().text;
}

/** Like processWord, then split on unquoted whitespace (expanded values split too). */
export function processWords(word: string, env: Env, escape = '\\'): string[] {
  return new Lexer(word, env, escape).process().words;
}
