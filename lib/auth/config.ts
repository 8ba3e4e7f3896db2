// Schema of config/ldap_auth.ini.
import { defaultsOf, parseMainSection, type Parsed, type SectionSpec, type SectionValues } from '../config/schema'
import type { Mechanism } from './sasl'

export const AUTH_SPEC = {
  mechanisms: { type: 'list', default: ['PLAIN', 'LOGIN'], item: /^(PLAIN|LOGIN)$/i, hint: 'PLAIN or LOGIN' },
} satisfies SectionSpec

export const AUTH_DEFAULTS = Object.freeze(defaultsOf(AUTH_SPEC))

export interface AuthConfig extends SectionValues<typeof AUTH_SPEC> {
  readonly mechanismList: readonly Mechanism[]
}

export function parseAuthConfig(raw: Record<string, any>): Parsed<AuthConfig> {
  return parseMainSection(raw, AUTH_SPEC, (main, errors) => {
    const mechanismList = [...new Set(main.mechanisms.map((m) => m.toUpperCase() as Mechanism))]
    if (!mechanismList.length) errors.push('[main] mechanisms: at least one of PLAIN, LOGIN')
    return { ...main, mechanismList }
  })
}
