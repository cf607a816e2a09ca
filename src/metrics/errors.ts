// One error type for bad input to the metrics logic, carrying every problem found with the path of the
// field it concerns, so a controller can answer 400 with `errors: [{path, message}]` without parsing
// messages.

export interface MetricsIssue {
  path: string;
  message: string;
}

export class MetricsInputError extends Error {
  readonly issues: MetricsIssue[];

  constructor(issues: MetricsIssue[]) {
    const shown = issues.slice(0, 5).map((i) => `${i.path}: ${i.message}`);
    const more = issues.length > 5 ? ` (and ${issues.length - 5} more)` : '';
    super(shown.join('; ') + more);
    this.name = 'MetricsInputError';
    this.issues = issues;
  }
}
