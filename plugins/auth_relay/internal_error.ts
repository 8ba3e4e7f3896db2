// The answer of MAIL and RCPT when their chain breaks (a bug, not the
// directory: that is checkFailed's 451 4.4.3), made only then.
import constants from 'haraka-constants'
import { toDsn } from '../../haraka/dsn'
import { REPLIES } from '../../lib/replies'

export const internalError = (): [number, unknown] => [
  constants.denysoft,
  toDsn(REPLIES.RELAY_INTERNAL_ERROR),
]
