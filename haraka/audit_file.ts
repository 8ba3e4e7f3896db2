// ldap_auth.ini audit=file: the audit trail in a file of its own, one JSON object
// a line, appended (O_APPEND: each Haraka worker's lines land whole; one write a line).
// Created 0640. A write that fails (the file cannot be opened) returns false, and
// the caller writes the line to Haraka's log instead, so no decision goes unrecorded.
import { closeSync, openSync, writeSync } from 'node:fs'

const open = new Map<string, number>()

/** Append one line to `file`; false when the file cannot be opened or written. */
export function writeAuditFile(file: string, json: string): boolean {
  try {
    let fd = open.get(file)
    if (fd === undefined) {
      fd = openSync(file, 'a', 0o640)
      open.set(file, fd)
    }
    writeSync(fd, `${json}\n`)
    return true
  } catch {
    closeAuditFiles(file)
    return false
  }
}

/** Close one file (after a failed write, or when the setting names another), or all of them. */
export function closeAuditFiles(file?: string): void {
  for (const [name, fd] of open) {
    if (file !== undefined && name !== file) continue
    open.delete(name)
    try {
      closeSync(fd)
    } catch {
      // already closed
    }
  }
}
