// Render a reply from lib/replies as a haraka-dsn object for next(code, dsn).
import DSN from 'haraka-dsn'
import { replyText, type Reply } from '../replies'

export function toDsn(reply: Reply, detail?: string): unknown {
  const [, sub, det] = reply.enh.split('.').map(Number)
  const text = detail ? `${reply.text} (${detail})` : reply.text
  return DSN.create(reply.code, text, sub, det)
}

export { replyText }
