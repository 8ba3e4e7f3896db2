// Schema of config/eml_sink.ini.
import { defaultsOf, parseSection, type Parsed, type SectionSpec, type SectionValues } from '../config/schema'

export const SINK_SPEC = {
  dir: { type: 'string', default: 'mail' },
} satisfies SectionSpec

export const SINK_DEFAULTS = Object.freeze(defaultsOf(SINK_SPEC))

export type SinkConfig = SectionValues<typeof SINK_SPEC>

export function parseSinkConfig(raw: Record<string, any>): Parsed<SinkConfig> {
  const errors: string[] = []
  for (const section of Object.keys(raw)) {
    if (section !== 'main') errors.push(`[${section}]: unknown section`)
  }
  const main = parseSection('main', raw.main, SINK_SPEC, errors)
  if (errors.length) return { ok: false, errors }
  return { ok: true, cfg: Object.freeze(main) }
}
