// A real Haraka transaction (Haraka's own transaction.js), fed as Haraka's DATA handler feeds
// it: each wire line (dot-stuffed, CRLF added) to add_data, then end_data; and the message as
// Haraka delivers it (eml_sink pipes the same stream).
const { createTransaction } = require('Haraka/transaction') as {
  createTransaction(uuid: string, cfg: unknown): any
}

export async function receivedTransaction(
  wireLines: string[],
  cfg: Record<string, unknown> = {},
): Promise<any> {
  const txn = createTransaction(`T${Math.random().toString(36).slice(2)}`, cfg)
  for (const line of wireLines) txn.add_data(Buffer.from(`${line}\r\n`, 'utf8'))
  await new Promise<void>((resolve) => txn.end_data(resolve))
  return txn
}

export function delivered(txn: any): Promise<Buffer> {
  return new Promise((resolve) => txn.message_stream.get_data((b: Buffer) => resolve(b)))
}
