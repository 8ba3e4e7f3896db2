// Read envelope addresses the same way whether Haraka hands us a plain
// @haraka/email-address Address or its legacy proxy (callable string-likes).
import type { Address } from 'haraka'

function text(value: unknown): string {
  if (value === null || value === undefined) return ''
  return String(value)
}

/** `user@host`, or '' for the null path. */
export function addressOf(addr: Address): string {
  return text(addr.address)
}

export function hostOf(addr: Address): string {
  return text(addr.host)
}
