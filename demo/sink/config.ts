// Schema of config/eml_sink.ini.
import { parseMainSection, type Parsed, type SectionSpec, type SectionValues } from '../../lib/config/schema'

export const SINK_SPEC = {
  dir: { type: 'string', default: 'mail' },
} satisfies SectionSpec

export type SinkConfig = SectionValues<typeof SINK_SPEC>

export function parseSinkConfig(raw: Record<string, any>): Parsed<SinkConfig> {
  return parseMainSection(raw, SINK_SPEC)
}
