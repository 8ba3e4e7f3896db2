// SHA512-crypt (`$6$`), as specified by Ulrich Drepper ("Unix crypt using
// SHA-256 and SHA-512", the algorithm of glibc's crypt(3)), on node:crypto.
// Written here because the npm implementations checked were wrong or stale:
// unixcrypt 3.0.4 hashes a 64-byte password differently from glibc/openssl
// (steps 10 and 16 drop a whole final block), and sha512crypt-node is
// unmaintained. Verified against Drepper's test vectors and `openssl passwd -6`.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

export const ROUNDS_DEFAULT = 5000
const ROUNDS_MIN = 1000
const ROUNDS_MAX = 999999999
const SALT_MAX = 16
const ALPHABET = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
// Byte order of the final base-64 encoding (step 22).
const ORDER = [
  [0, 21, 42],
  [22, 43, 1],
  [44, 2, 23],
  [3, 24, 45],
  [25, 46, 4],
  [47, 5, 26],
  [6, 27, 48],
  [28, 49, 7],
  [50, 8, 29],
  [9, 30, 51],
  [31, 52, 10],
  [53, 11, 32],
  [12, 33, 54],
  [34, 55, 13],
  [56, 14, 35],
  [15, 36, 57],
  [37, 58, 16],
  [59, 17, 38],
  [18, 39, 60],
  [40, 61, 19],
  [62, 20, 41],
] as const

export interface ParsedHash {
  rounds: number
  /** whether `rounds=` was written (it is then part of the output) */
  explicitRounds: boolean
  salt: string
  /** the 86-character encoded digest */
  digest: string
}

const HASH = /^(?:\{SHA512-CRYPT\})?\$6\$(?:rounds=(\d{1,10})\$)?([^$]{0,16})\$([./0-9A-Za-z]{86})$/

/** Parse `$6$[rounds=N$]salt$digest`, optionally prefixed `{SHA512-CRYPT}` (Dovecot's scheme prefix). */
export function parseHash(text: string): ParsedHash | null {
  const m = HASH.exec(text.trim())
  if (!m) return null
  return {
    rounds: clampRounds(m[1] === undefined ? ROUNDS_DEFAULT : Number(m[1])),
    explicitRounds: m[1] !== undefined,
    salt: m[2]!,
    digest: m[3]!,
  }
}

/** Drepper's rule: rounds below 1000 become 1000, above 999999999 become 999999999. */
export function clampRounds(rounds: number): number {
  return Math.min(ROUNDS_MAX, Math.max(ROUNDS_MIN, Math.floor(rounds)))
}

function sha512(...parts: Buffer[]): Buffer {
  const h = createHash('sha512')
  for (const p of parts) h.update(p)
  return h.digest()
}

/** `length` bytes made of whole copies of `block` and then its first bytes (steps 16 and 20). */
function repeatTo(block: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length)
  for (let at = 0; at < length; at += block.length)
    block.copy(out, at, 0, Math.min(block.length, length - at))
  return out
}

/** The encoded 86-character digest of `password` with `salt` and `rounds` (already clamped). */
function sha512cryptDigest(password: string | Buffer, salt: string, rounds: number): string {
  const P = Buffer.isBuffer(password) ? password : Buffer.from(password, 'utf8')
  const S = Buffer.from(salt.slice(0, SALT_MAX), 'utf8')
  // Steps 4-8: digest B.
  const B = sha512(P, S, P)
  // Steps 1-3, 9-12: digest A.
  const a = createHash('sha512').update(P).update(S)
  let n = P.length
  for (; n > 64; n -= 64) a.update(B)
  a.update(B.subarray(0, n))
  for (let bits = P.length; bits > 0; bits >>= 1) a.update(bits & 1 ? B : P)
  let C = a.digest()
  // Steps 13-16: the P sequence.
  const dp = createHash('sha512')
  for (let i = 0; i < P.length; i++) dp.update(P)
  const Pseq = repeatTo(dp.digest(), P.length)
  // Steps 17-20: the S sequence.
  const ds = createHash('sha512')
  for (let i = 0; i < 16 + C[0]!; i++) ds.update(S)
  const Sseq = repeatTo(ds.digest(), S.length)
  // Step 21: the rounds.
  for (let i = 0; i < rounds; i++) {
    const h = createHash('sha512')
    h.update(i & 1 ? Pseq : C)
    if (i % 3) h.update(Sseq)
    if (i % 7) h.update(Pseq)
    h.update(i & 1 ? C : Pseq)
    C = h.digest()
  }
  // Step 22: base-64 in crypt's alphabet and byte order.
  let out = ''
  const put = (b2: number, b1: number, b0: number, chars: number) => {
    let w = (b2 << 16) | (b1 << 8) | b0
    for (let i = 0; i < chars; i++, w >>= 6) out += ALPHABET[w & 0x3f]
  }
  for (const [x, y, z] of ORDER) put(C[x]!, C[y]!, C[z]!, 4)
  put(0, 0, C[63]!, 2)
  return out
}

/** A full `$6$` hash; a random 16-character salt unless given. */
export function sha512crypt(password: string, opts: { salt?: string; rounds?: number } = {}): string {
  const salt = (opts.salt ?? randomSalt()).slice(0, SALT_MAX)
  if (/[$:\n]/.test(salt)) throw new Error('salt must not contain $, : or a newline')
  const explicit = opts.rounds !== undefined
  const rounds = clampRounds(opts.rounds ?? ROUNDS_DEFAULT)
  return `$6$${explicit ? `rounds=${rounds}$` : ''}${salt}$${sha512cryptDigest(password, salt, rounds)}`
}

export function randomSalt(length = SALT_MAX): string {
  return [...randomBytes(length)].map((b) => ALPHABET[b & 0x3f]).join('')
}

/** Constant-time check of `password` against a parsed hash. */
export function verifyParsed(password: string, hash: ParsedHash): boolean {
  const computed = Buffer.from(sha512cryptDigest(password, hash.salt, hash.rounds))
  const expected = Buffer.from(hash.digest)
  return computed.length === expected.length && timingSafeEqual(computed, expected)
}
