/** Docker's jsonmessage stream (load, import, pull): newline-separated JSON objects, always HTTP 200. */

export interface JsonMessage {
  status?: string;
  id?: string;
  stream?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  aux?: Record<string, unknown>;
  error?: string;
  errorDetail?: { code?: number; message: string };
}

export function jsonLine(m: JsonMessage): string {
  return `${JSON.stringify(m)}\n`;
}

/** An error inside a jsonmessage stream: the CLI prints it and exits 1. */
export function jsonError(message: string, code?: number): JsonMessage {
  return { errorDetail: code === undefined ? { message } : { code, message }, error: message };
}

/** Parses a whole jsonmessage body (for clients and tests); lines that are not JSON objects are refused. */
export function parseJsonMessages(body: string): JsonMessage[] {
  const out: JsonMessage[] = [];
  for (const line of body.split('\n')) {
    if (line.trim() === '') continue;
    const v: unknown = JSON.parse(line);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`jsonmessage line is not an object: ${line.slice(0, 80)}`);
    out.push(v as JsonMessage);
  }
  return out;
}

/** The first error in a jsonmessage stream, if any. */
export function firstError(messages: JsonMessage[]): string | undefined {
  for (const m of messages) if (m.errorDetail || m.error) return m.errorDetail?.message ?? m.error;
  return undefined;
}
