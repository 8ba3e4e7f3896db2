// Schema of config/eml_sink.ini.
import {
  parseMainSection,
  type Parsed,
  type SectionSpec,
  type SectionValues,
  booleanKeys,
  type IniFile,
} from '../../lib/config/schema'

export const SINK_SPEC = {
  dir: { type: 'string', default: 'mail' },
} satisfies SectionSpec

export type SinkConfig = SectionValues<typeof SINK_SPEC>

export function parseSinkConfig(raw: Record<string, any>): Parsed<SinkConfig> {
  return parseMainSection(raw, SINK_SPEC)
}

/** config/eml_sink.ini */
export const EML_SINK_INI: IniFile<SinkConfig> = {
  name: 'eml_sink.ini',
  booleans: booleanKeys('main', SINK_SPEC),
  parse: parseSinkConfig,
}
