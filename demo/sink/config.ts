// Schema of config/eml_sink.ini.
import { iniFile, parseMainSection } from '../../lib/config/schema'
import type { Parsed, SectionSpec, SectionValues } from '../../lib/config/schema'

export const SINK_SPEC = {
  dir: { type: 'string', default: 'mail' },
} satisfies SectionSpec

export type SinkConfig = SectionValues<typeof SINK_SPEC>

export function parseSinkConfig(raw: Record<string, any>): Parsed<SinkConfig> {
  return parseMainSection(raw, SINK_SPEC)
}

/** config/eml_sink.ini */
export const EML_SINK_INI = iniFile('eml_sink.ini', SINK_SPEC, parseSinkConfig)
