// Typed errors of the write-ahead log. A corrupt WAL names the file and the byte offset of the bad record.

export class WalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WalError';
  }
}

/** A record that fails its CRC (or cannot be decoded) anywhere but in the torn tail of the last segment. */
export class WalCorruptError extends WalError {
  readonly file: string;
  readonly offset: number;
  constructor(file: string, offset: number, reason: string) {
    super(`WAL corrupt: ${file} at byte offset ${offset}: ${reason}`);
    this.name = 'WalCorruptError';
    this.file = file;
    this.offset = offset;
  }
}
