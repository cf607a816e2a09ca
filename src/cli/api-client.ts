// The CLI's only way to the orchestrator: REST over fetch. Turns every failure (unreachable server,
// HTTP error, unexpected body) into an error whose message a user can act on.

export const DEFAULT_URL = 'http://127.0.0.1:3000';
const DEFAULT_TIMEOUT_MS = 30_000;

export interface FieldIssue {
  path: string;
  message: string;
}

/** A failure the CLI reports and exits 1 on (as opposed to a usage error, exit 2). */
export class CliError extends Error {}

/** The API answered with an error status; `errors` lists every offending path for a 400. */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    message: string,
    readonly errors: FieldIssue[] = [],
  ) {
    super(message);
  }
}

export type Fetch = typeof fetch;

export interface RawResponse {
  status: number;
  contentType: string;
  text: string;
}

export class ApiClient {
  readonly baseUrl: string;

  constructor(
    baseUrl: string,
    private readonly fetchImpl: Fetch = fetch,
    private readonly timeoutMs = DEFAULT_TIMEOUT_MS,
  ) {
    this.baseUrl = normalizeBaseUrl(baseUrl);
  }

  get<T>(path: string, query: Record<string, string | number | undefined> = {}): Promise<T> {
    return this.json<T>('GET', path + queryString(query));
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.json<T>('POST', path, body === undefined ? undefined : { type: 'application/json', text: JSON.stringify(body) });
  }

  /** Sends a body as it is (a YAML document) with its content type. */
  postText<T>(path: string, text: string, contentType: string): Promise<T> {
    return this.json<T>('POST', path, { type: contentType, text });
  }

  /** The body as text whatever its type (CSV downloads); throws ApiError for error statuses. */
  async text(path: string, query: Record<string, string | number | undefined> = {}): Promise<RawResponse> {
    const res = await this.request('GET', path + queryString(query));
    if (res.status >= 400) throw toApiError(res);
    return res;
  }

  private async json<T>(method: string, path: string, body?: { type: string; text: string }): Promise<T> {
    const res = await this.request(method, path, body);
    if (res.status >= 400) throw toApiError(res);
    if (!res.text) return undefined as T;
    try {
      return JSON.parse(res.text) as T;
    } catch {
      throw new CliError(`${method} ${path}: the server answered ${res.status} with a body that is not JSON (is ${this.baseUrl} a Trainyard server?)`);
    }
  }

  private async request(method: string, path: string, body?: { type: string; text: string }): Promise<RawResponse> {
    const url = `${this.baseUrl}/api${path}`;
    let res: Response;
    try {
      res = await this.fetchImpl(url, {
        method,
        headers: body ? { 'content-type': body.type, accept: 'application/json' } : { accept: 'application/json' },
        body: body?.text,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      throw new CliError(`cannot reach Trainyard at ${this.baseUrl}: ${describeFetchError(e)}. Is the orchestrator running (npm start)? Set TRAINYARD_URL or --url to point elsewhere.`);
    }
    let text: string;
    try {
      text = await res.text();
    } catch (e) {
      throw new CliError(`${method} ${url}: the connection broke while reading the answer: ${describeFetchError(e)}`);
    }
    return { status: res.status, contentType: res.headers.get('content-type') ?? '', text };
  }
}

export function normalizeBaseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CliError(`invalid orchestrator URL "${raw}" (TRAINYARD_URL or --url): expected e.g. ${DEFAULT_URL}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`invalid orchestrator URL "${raw}": must start with http:// or https://`);
  // A URL that already ends in /api is accepted too: the client adds /api itself.
  return `${url.origin}${url.pathname.replace(/\/+$/, '').replace(/\/api$/, '')}`;
}

function queryString(query: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') params.set(k, String(v));
  const s = params.toString();
  return s ? `?${s}` : '';
}

function describeFetchError(e: unknown): string {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return 'no answer within the timeout';
  const cause = err?.cause;
  if (cause?.code) return cause.code;
  return cause?.message ?? err?.message ?? String(e);
}

function toApiError(res: RawResponse): ApiError {
  let body: unknown = null;
  try {
    body = JSON.parse(res.text);
  } catch {
    /* not JSON: use the text */
  }
  const b = body as { message?: unknown; errors?: unknown } | null;
  const errors = Array.isArray(b?.errors)
    ? (b.errors as unknown[]).filter((e): e is FieldIssue => !!e && typeof (e as FieldIssue).path === 'string' && typeof (e as FieldIssue).message === 'string')
    : [];
  let message = typeof b?.message === 'string' ? b.message : Array.isArray(b?.message) ? (b.message as unknown[]).join('; ') : res.text.trim().slice(0, 500);
  if (!message) message = `HTTP ${res.status}`;
  return new ApiError(res.status, message, errors);
}
