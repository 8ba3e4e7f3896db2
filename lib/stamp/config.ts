// Schema of config/auth_stamp.ini.
import { defaultsOf, parseMainSection, type Parsed, type SectionSpec, type SectionValues } from '../config/schema'

const HEADER_NAME = /^[!-9;-~]+$/ // RFC 5322 §3.6.8 ftext

export const STAMP_SPEC = {
  identity_header: { type: 'string', default: 'X-Authenticated-User', pattern: HEADER_NAME, hint: 'a header field name' },
} satisfies SectionSpec

export const STAMP_DEFAULTS = Object.freeze(defaultsOf(STAMP_SPEC))

export type StampConfig = SectionValues<typeof STAMP_SPEC>

export function parseStampConfig(raw: Record<string, any>): Parsed<StampConfig> {
  return parseMainSection(raw, STAMP_SPEC)
}
