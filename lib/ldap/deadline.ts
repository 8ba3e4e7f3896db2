// A promise bounded in time: a step that can wait forever on a peer (a TLS
// handshake nobody answers, a probe, a pooled connection being opened) gets a
// deadline, and whatever it produces after the deadline is handed to `late`
// (to close a connection nobody will use) instead of being lost.

export class DeadlineError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'DeadlineError'
  }
}

export function withDeadline<T>(
  work: Promise<T>,
  ms: number,
  message: string,
  hooks: { onTimeout?: () => void; late?: (value: T) => void } = {},
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let done = false
    const timer = setTimeout(() => {
      done = true
      try {
        hooks.onTimeout?.()
      } finally {
        reject(new DeadlineError(message))
      }
    }, ms)
    work.then(
      (value) => {
        if (!done) {
          done = true
          clearTimeout(timer)
          resolve(value)
        } else hooks.late?.(value)
      },
      (err: unknown) => {
        if (done) return
        done = true
        clearTimeout(timer)
        reject(err)
      },
    )
  })
}
