// Is anything accepting TCP connections on a port? Used by the launcher to wait
// for Haraka, and by the tests to wait for their servers and check they are gone.
import net from 'node:net'

/** True when something accepts TCP connections on host:port right now. */
export function isListening(port: number, timeoutMs = 1000, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port })
    const done = (up: boolean) => {
      socket.destroy()
      resolve(up)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}
