// Render a reply from lib/replies as a haraka-dsn object for next(code, dsn).
import DSN from 'haraka-dsn'
import type { Reply } from '../lib/replies'

export function toDsn(reply: Reply): unknown {
  const [, sub, det] = reply.enh.split('.').map(Number)
  return DSN.create(reply.code, reply.text, sub, det)
}
