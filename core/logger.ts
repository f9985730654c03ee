import { type Logger, pino } from 'pino'

export type { Logger }

/**
 * One structured logger for the process. Anything that could hold a secret is censored by path, so a
 * careless `log.info({ config })` cannot leak a password or a token.
 */
export function createLogger(level: string = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'signalbox' },
      redact: {
        paths: [
          'password',
          '*.password',
          '*.*.password',
          'secret',
          '*.secret',
          'token',
          '*.token',
          'authorization',
          '*.authorization',
          'headers.authorization',
          '*.headers.authorization',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  )
}
