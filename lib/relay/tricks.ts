// The classic relay tricks, recognised in a recipient path as the client wrote
// it (Haraka keeps it in Address.original). A local domain does not make them
// safe: a downstream MTA or a local delivery agent may still route on `%`,
// `!` or an embedded `@` (sendmail, Exim's percent_hack_domains, UUCP).
// Haraka's envelope parser already refuses some (double @, trailing dot) with
// 501, and silently drops source routes; this module judges the raw text, so it
// holds whatever the parser in front of it does.

export type Trick = 'source_route' | 'double_at' | 'quoted_at' | 'percent_hack' | 'bang_path' | 'trailing_dot'

export const TRICK_TEXT: Record<Trick, string> = {
  source_route: 'source route',
  double_at: 'more than one @',
  quoted_at: 'quoted local part with @',
  percent_hack: 'percent hack',
  bang_path: 'bang path',
  trailing_dot: 'domain with a trailing dot',
}

/** Split a path into its (unquoted) local part and domain, honouring quotes. */
function parts(path: string): { local: string; quoted: boolean; domain: string | null } {
  if (path.startsWith('"')) {
    let local = ''
    let i = 1
    for (; i < path.length; i++) {
      const ch = path[i]!
      if (ch === '\\') {
        local += path[i + 1] ?? ''
        i++
      } else if (ch === '"') {
        break
      } else {
        local += ch
      }
    }
    const rest = path.slice(i + 1)
    return { local, quoted: true, domain: rest.startsWith('@') ? rest.slice(1) : null }
  }
  const at = path.indexOf('@')
  return at < 0
    ? { local: path, quoted: false, domain: null }
    : { local: path.slice(0, at), quoted: false, domain: path.slice(at + 1) }
}

/** The first trick found in a forward-path such as `<user%host@example.com>`; null for a plain address. */
export function findTrick(rawPath: string): Trick | null {
  let path = rawPath.trim()
  if (path.startsWith('<') && path.endsWith('>')) path = path.slice(1, -1).trim()
  if (path.startsWith('@')) return 'source_route'
  const { local, quoted, domain } = parts(path)
  if (domain !== null && domain.includes('@')) return 'double_at'
  if (quoted && local.includes('@')) return 'quoted_at'
  if (local.includes('%')) return 'percent_hack'
  if (local.includes('!')) return 'bang_path'
  if (domain !== null && domain.endsWith('.')) return 'trailing_dot'
  return null
}
