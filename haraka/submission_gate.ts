// 530 5.7.0 for MAIL without AUTH on submission ports, before Haraka core's own check.
//
// Haraka 3.3.4's Connection#cmd_mail answers a bare `550 Authentication required`
// (no enhanced status code, RFC 4954 §6 wants 530 5.7.0) on local ports 587 and
// 465 when the session is not relaying, before any `mail` hook runs. The only
// place to answer first is the command dispatch: process_line() calls
// `this['cmd_' + verb](rest)` on the connection, so an own `cmd_mail` property
// on one connection shadows the prototype's method for that connection only.
// The override answers 530 5.7.0 exactly where a refusal is due and otherwise
// calls the prototype's method unchanged (EHLO-first check, parsing, hooks).
// If a Haraka release renames cmd_mail the override is not installed (logged);
// the mail hook then still refuses on the configured ports, core on 587/465.
// Where a refusal is due is lib/authz/submission's rule.
import type { Connection } from 'haraka'
import type { MailGateDecision } from '../lib/authz/submission'
import { replyText, type Reply } from '../lib/replies'

interface CmdMailHost {
  cmd_mail?: (this: Connection, line: string) => void
}

type Dispatchable = Connection & { errors: number; hello: { host: string | null } }

export function installMailGate(
  connection: Connection,
  decide: (connection: Connection) => MailGateDecision,
  reply: Reply,
  onRefuse: (connection: Connection) => void,
): boolean {
  const core = (Object.getPrototypeOf(connection) as CmdMailHost).cmd_mail
  if (typeof core !== 'function') return false
  const gated = function (this: Dispatchable, line: string): void {
    // Before EHLO core answers 503; keep that order.
    if (!this.hello.host) return core.call(this, line)
    const decision = decide(this)
    if (decision === 'refuse') {
      this.errors++
      onRefuse(this)
      return this.respond(reply.code, replyText(reply))
    }
    if (decision === 'relay') this.relaying = true
    return core.call(this, line)
  }
  Object.defineProperty(connection, 'cmd_mail', {
    value: gated,
    writable: true,
    configurable: true,
    enumerable: false,
  })
  return true
}
