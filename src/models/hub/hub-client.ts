/**
 * The parts of the Hugging Face hub's HTTP interface that a model download needs:
 *
 *   GET {endpoint}/api/models/{repo}/tree/{revision}?recursive=true   the file list, with each
 *       file's size and its hash (git blob sha1, and sha256 for files stored with Git LFS);
 *       long lists are paged with a `Link: <…>; rel="next"` header
 *   GET {endpoint}/{repo}/resolve/{revision}/{path}                  a file (large ones redirect
 *       to a CDN); `Range: bytes=N-` resumes it
 *
 * The endpoint is https://huggingface.co unless HF_ENDPOINT names another (a mirror, or a
 * local server in tests); HF_TOKEN, when set, is sent for private and gated models.
 */

export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';

export interface HubFile {
  path: string;
  size: number;
  /** Git blob sha1 of the file as stored in the repository. */
  gitOid?: string;
  /** sha256 of the content, for files stored with Git LFS. */
  sha256?: string;
}

export interface HubOptions {
  endpoint?: string;
  token?: string;
  revision?: string;
}

interface TreeEntry {
  type: string;
  path: string;
  size?: number;
  oid?: string;
  lfs?: { oid?: string; size?: number };
}

const REPO_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)?$/;

/** Why a request to the hub failed, worded for someone at a terminal. */
export class HubError extends Error {}

export class HubClient {
  readonly endpoint: string;
  readonly revision: string;
  private readonly token?: string;

  constructor(options: HubOptions = {}) {
    this.endpoint = (options.endpoint ?? process.env.HF_ENDPOINT ?? DEFAULT_HUB_ENDPOINT).replace(/\/+$/, '');
    this.revision = options.revision ?? 'main';
    this.token = options.token ?? process.env.HF_TOKEN;
  }

  static checkRepoName(repo: string): void {
    if (!REPO_NAME.test(repo) || repo.includes('..')) {
      throw new HubError(`'${repo}' is not a model name on the hub: expected OWNER/NAME, such as Xenova/distilbart-cnn-6-6`);
    }
  }

  fileUrl(repo: string, path: string): string {
    return `${this.endpoint}/${repo}/resolve/${encodeURIComponent(this.revision)}/${path.split('/').map(encodeURIComponent).join('/')}`;
  }

  /** Every file of the repository at the revision. */
  async listFiles(repo: string): Promise<HubFile[]> {
    HubClient.checkRepoName(repo);
    const files: HubFile[] = [];
    let url: string | undefined = `${this.endpoint}/api/models/${repo}/tree/${encodeURIComponent(this.revision)}?recursive=true`;
    while (url) {
      const res = await this.request(url, {}, repo);
      const entries = (await res.json()) as TreeEntry[];
      if (!Array.isArray(entries)) throw new HubError(`${url}: expected a list of files, got ${typeof entries}`);
      for (const e of entries) {
        if (e.type !== 'file') continue;
        files.push({ path: e.path, size: e.lfs?.size ?? e.size ?? 0, gitOid: e.oid, sha256: e.lfs?.oid });
      }
      url = nextPage(res.headers.get('link'), url);
    }
    return files;
  }

  /** A GET with the token and clear errors for the usual failures; the caller reads the body. */
  async request(url: string, headers: Record<string, string>, repo: string): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(url, { headers: { ...headers, ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) } });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new HubError(
        `cannot reach ${this.endpoint} (${cause?.code ?? cause?.message ?? (err as Error).message}): downloading models needs a network connection; ` +
          `on a machine without one, copy the model folder into models/ by hand`,
      );
    }
    if (res.ok) return res;
    await res.body?.cancel();
    if (res.status === 404) throw new HubError(`${repo}: not found on ${this.endpoint} (revision ${this.revision}, ${url})`);
    if (res.status === 401 || res.status === 403) {
      throw new HubError(`${repo}: the hub refused access (${res.status}); for a private or gated model set HF_TOKEN to a token that may read it`);
    }
    throw new HubError(`${url}: the hub answered ${res.status} ${res.statusText}`);
  }
}

/** The `rel="next"` target of a Link header, resolved against the current URL. */
function nextPage(link: string | null, current: string): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(',')) {
    const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part);
    if (m) return new URL(m[1]!, current).toString();
  }
  return undefined;
}
