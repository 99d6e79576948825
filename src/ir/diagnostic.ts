export type Severity = 'error' | 'warning' | 'info';

/** A problem found in configuration. Never thrown: collected and reported. */
export type Diagnostic = {
  /** Stable code, `E_*` / `W_*`. */
  code: string;
  severity: Severity;
  message: string;
  /** `Kind/namespace/name`, or an IR path such as `listener/http`. */
  object?: string;
  /** Field path inside the object. */
  field?: string;
  file?: string;
  line?: number;
  column?: number;
  /** How to fix it, when there is one clear fix. */
  fix?: string;
};
