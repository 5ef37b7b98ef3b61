/**
 * Logging: pino JSON to stdout (journald and kubectl logs read it as is). Secrets are
 * redacted by key name wherever they appear, as a second line of defence: code should not
 * pass them to the logger in the first place.
 */
import pino from "pino";

export type Logger = pino.Logger;

const REDACT = [
  "password",
  "*.password",
  "*.*.password",
  "peers[*].password",
  "config.peers[*].password",
  "privateKey",
  "*.privateKey",
  "md5Password",
  "*.md5Password",
];

export function createLogger(level: string = "info", destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { name: "podgate" },
      redact: { paths: REDACT, censor: "<redacted>" },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

/** A logger that drops everything, for tests that do not read logs. */
export const silentLogger: Logger = pino({ level: "silent" });
