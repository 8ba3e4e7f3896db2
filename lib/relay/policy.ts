// "May this recipient be accepted?" for one RCPT, as a pure decision.

export type RcptDecision =
  | { accept: true; rule: 'local_domain' | 'authenticated' | 'trusted_network' }
  | { accept: false; rule: 'relay_denied' }

export interface RcptContext {
  domain: string
  localDomains: ReadonlySet<string>
  authenticated: boolean
  trustedNetwork: boolean
}

export function decideRcpt(ctx: RcptContext): RcptDecision {
  if (ctx.localDomains.has(normaliseDomain(ctx.domain))) return { accept: true, rule: 'local_domain' }
  if (ctx.authenticated) return { accept: true, rule: 'authenticated' }
  if (ctx.trustedNetwork) return { accept: true, rule: 'trusted_network' }
  return { accept: false, rule: 'relay_denied' }
}

/** Lower-case; a trailing root dot is NOT stripped, so `example.com.` is not local. */
export function normaliseDomain(domain: string): string {
  return domain.toLowerCase()
}
