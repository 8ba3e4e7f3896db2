// The stamp's body hash (lib/stamp/body) over Haraka's transaction.message_stream,
// streamed: the message is not buffered a second time (a spooled one is read from
// its file), and any error of the stream ends the promise instead of leaving it pending.
import { Writable } from 'node:stream'
import { BodyHasher } from '../lib/stamp/body'

/** What hashMessageBody uses of haraka-message-stream's MessageStream. */
export interface MessageStreamLike {
  pipe(destination: NodeJS.WritableStream, options?: Record<string, unknown>): unknown
  once(event: 'error', listener: (err: Error) => void): unknown
  removeListener(event: 'error', listener: (err: Error) => void): unknown
}

/** The body hash of the message in `stream` (its body only, without dot-stuffing). */
export function hashMessageBody(stream: MessageStreamLike): Promise<string> {
  return new Promise((resolve, reject) => {
    const hasher = new BodyHasher()
    let settled = false
    const settle = (err: Error | undefined, digest?: string) => {
      if (settled) return
      settled = true
      stream.removeListener('error', onStreamError)
      if (err) reject(err)
      else resolve(digest!)
    }
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        try {
          hasher.update(chunk)
          callback()
        } catch (err) {
          callback(err as Error)
        }
      },
      final(callback) {
        try {
          settle(undefined, hasher.digest())
          callback()
        } catch (err) {
          callback(err as Error)
        }
      },
    })
    // haraka-message-stream reports a failed read (a header over 1 MB, a spool file gone) on itself,
    // and then never ends the destination.
    const onStreamError = (err: Error) => {
      settle(err)
      sink.destroy()
    }
    sink.once('error', (err) => settle(err))
    sink.once('close', () => settle(new Error('the message stream closed before its end')))
    stream.once('error', onStreamError)
    try {
      stream.pipe(sink, { skip_headers: true })
    } catch (err) {
      // e.g. "Cannot pipe while currently piping": another plugin is still reading it
      settle(err as Error)
      sink.destroy()
    }
  })
}
