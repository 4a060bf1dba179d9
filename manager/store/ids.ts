/**
 * Object IDs as SwarmKit makes them (identity.NewID): 128 random bits in base 36, zero-padded to 25
 * characters. Randomness is passed in (node:crypto's randomBytes in production, a seeded source in
 * simulations).
 */
export const ID_LENGTH = 25;

export function generateId(randomBytes: (n: number) => Uint8Array): string {
  const b = randomBytes(16);
  if (b.length !== 16) throw new RangeError(`randomBytes gave ${b.length} bytes, want 16`);
  return BigInt(`0x${Buffer.from(b).toString('hex')}`).toString(36).padStart(ID_LENGTH, '0');
}
