// What the rest of the code sees of the directory: an entry, a lookup's answer,
// and the two interfaces. Directory is what the lookups after AUTH need (the
// service account's searches and reads); AuthDirectory adds the user binds only
// ldap_auth makes, so a fake for auth_relay or auth_stamp stubs no password check.
import type { LoginParts } from './template'

export interface DirectoryEntry {
  dn: string
  /** attribute names lower-cased, values as strings */
  attributes: Record<string, string[]>
}

/** `server`: the URL of the directory server that answered, when known (for the audit line). */
export type Lookup = ({ kind: 'found'; entry: DirectoryEntry } | { kind: 'none' } | { kind: 'ambiguous' }) & {
  server?: string
}

/** Result of bindAndRead: the password was wrong, or right (with the entry as the user may read it). */
export type BindResult = ({ ok: false } | { ok: true; entry: DirectoryEntry | null }) & { server?: string }

export interface Directory {
  /** Search mode: the one entry matching user_filter for this login. */
  findUser(parts: LoginParts, attributes: readonly string[]): Promise<Lookup>
  /** Template mode: the DNs built from every dn_template, in order. */
  userDns(parts: LoginParts): string[]
  /** Read one entry by DN (service account, or anonymous when none is set). */
  readEntry(dn: string, attributes: readonly string[]): Promise<DirectoryEntry | null>
  /**
   * True when the entry `groupDn` lists `memberDn` in one of `memberAttributes`
   * (member, uniqueMember: DN-valued, so the server compares them as DNs).
   * False when it does not, or when the group does not exist.
   */
  isMember(groupDn: string, memberDn: string, memberAttributes?: readonly string[]): Promise<boolean>
  close(): Promise<void>
}

export interface AuthDirectory extends Directory {
  /** True when `password` binds as `dn`; false on invalid credentials. Never call with an empty password. */
  checkPassword(dn: string, password: string): Promise<boolean>
  /**
   * Bind as `dn`; on success read `attributes` of the entry on the same
   * connection, with the user's own rights (nothing is read when the list is empty).
   */
  bindAndRead(dn: string, password: string, attributes: readonly string[]): Promise<BindResult>
}
