/**
 * Config problems as data: each issue carries the key path ("peers[0].asn"), the 1-based line and
 * column in the YAML file when known, and a message that never contains a secret value.
 * ConfigError bundles the errors of one load; warnings use the same shape but do not fail a load.
 */

export interface ConfigIssue {
  /** Key path such as "peers[0].asn"; "" for the document itself. */
  readonly path: string;
  /** 1-based line in the source, when the problem can be located. */
  readonly line?: number;
  /** 1-based column in the source. */
  readonly column?: number;
  readonly message: string;
}

/** "podgate.yaml:7:11: peers[0].asn: must be an integer 1..4294967295" */
export function formatIssue(source: string, issue: ConfigIssue): string {
  const where = issue.line === undefined ? source : `${source}:${issue.line}:${issue.column ?? 1}`;
  return issue.path === "" ? `${where}: ${issue.message}` : `${where}: ${issue.path}: ${issue.message}`;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly code = "PODGATE_CONFIG_INVALID";
  readonly source: string;
  readonly issues: readonly ConfigIssue[];

  constructor(source: string, issues: readonly ConfigIssue[]) {
    super(issues.map((i) => formatIssue(source, i)).join("\n"));
    this.source = source;
    this.issues = issues;
  }
}
