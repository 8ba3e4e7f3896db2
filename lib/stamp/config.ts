// Schema of config/auth_stamp.ini.
import { defaultsOf, parseSection, type Parsed, type SectionSpec, type SectionValues } from '../config/schema'

const HEADER_NAME = /^[!-9;-~]+$/ // RFC 5322 §3.6.8 ftext

export const STAMP_SPEC = {
  identity_header: { type: 'string', default: 'X-Authenticated-User', pattern: HEADER_NAME, hint: 'a header field name' },
} satisfies SectionSpec

export const STAMP_DEFAULTS = Object.freeze(defaultsOf(STAMP_SPEC))

export type StampConfig = SectionValues<typeof STAMP_SPEC>

export function parseStampConfig(raw: Record<string, any>): Parsed<StampConfig> {
  const errors: string[] = []
  for (const section of Object.keys(raw)) {
    if (section !== 'main') errors.push(`[${section}]: unknown section`)
  }
  const main = parseSection('main', raw.main, STAMP_SPEC, errors)
  if (errors.length) return { ok: false, errors }
  return { ok: true, cfg: Object.freeze(main) }
}
