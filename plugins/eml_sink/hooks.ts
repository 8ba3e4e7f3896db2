// eml_sink: queue every accepted message, inbound and relayed alike, to a local
// folder instead of the network, so the demo and the tests can read what would
// have been delivered, headers and all.
import path from 'node:path'
import constants from 'haraka-constants'
import type { Connection, Next, Plugin } from 'haraka'
import { addressOf } from '../../haraka/address'
import { loadValidated } from '../../haraka/load_config'
import { authUser } from '../../haraka/notes'
import { record } from '../../haraka/record'
import { type SinkConfig, EML_SINK_INI } from '../../demo/sink/config'
import { storeDecision, storeMessage } from '../../demo/sink/store'

interface EmlSink extends Plugin {
  cfg: SinkConfig
  load_eml_sink_ini(): void
}

export function register(this: EmlSink): void {
  this.load_eml_sink_ini()
  this.register_hook('queue', 'store_message')
  this.register_hook('queue_outbound', 'store_message')
}

export function load_eml_sink_ini(this: EmlSink): void {
  this.cfg = loadValidated(this, EML_SINK_INI, () => this.load_eml_sink_ini(), this.cfg)
}

export function store_message(this: EmlSink, next: Next, connection: Connection): void {
  const txn = connection.transaction
  if (!txn) return next()
  const dir = path.resolve(process.env.HARAKA ?? process.cwd(), this.cfg.dir)
  const login = authUser(connection)
  storeMessage(
    dir,
    {
      uuid: txn.uuid,
      mail_from: addressOf(txn.mail_from),
      rcpt_to: txn.rcpt_to.map(addressOf),
      remote_ip: connection.remote.ip,
      auth_user: login ?? null,
      received_at: new Date().toISOString(),
    },
    txn.message_stream,
  )
    .then((file) => {
      record(connection, this, storeDecision({ file }), { on: txn, log: `stored ${file}` })
      next(constants.ok)
    })
    .catch((err: unknown) => {
      const log = `could not store message: ${(err as Error).message}`
      next(
        constants.denysoft,
        record(connection, this, storeDecision({ error: err as Error }), { on: txn, log }),
      )
    })
}
