/**
 * A model hub on 127.0.0.1 that serves folders the way the Hugging Face hub does:
 *
 *   GET /api/models/OWNER/NAME/tree/REV?recursive=true   file list, two entries per page with a
 *                                                          Link rel="next" header, like the hub's paging
 *   GET /OWNER/NAME/resolve/REV/PATH                      small files directly; .onnx files (Git LFS
 *                                                          on the hub) by a 302 to /cdn/SHA256
 * Range requests get 206 with the rest of the file. Faults for tests: `breakOnce` sends some
 * bytes of a file the first time it is fetched and holds the connection until the test cuts it
 * with `cutHeld()` (once the client has them: bytes still in flight when a connection drops
 * are lost, which would make the test depend on timing); `corrupt` serves a file
 * with one byte changed (its listing still has the true hash). Every file request is logged.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { AddressInfo } from 'node:net';

interface HostedFile {
  path: string;
  data: Buffer;
  lfs: boolean;
  sha256: string;
  gitOid: string;
}

export interface LocalHub {
  endpoint: string;
  requests: { path: string; range?: string }[];
  breakOnce: Map<string, number>;
  /** Cuts the connections that `breakOnce` holds. */
  cutHeld(): void;
  corrupt: Set<string>;
  close(): Promise<void>;
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

export async function startLocalHub(repos: Record<string, string>, extraFiles: Record<string, Record<string, Buffer>> = {}): Promise<LocalHub> {
  const hosted = new Map<string, HostedFile[]>();
  for (const [repo, dir] of Object.entries(repos)) {
    const files: [string, Buffer][] = walk(dir).map((p) => [relative(dir, p), readFileSync(p)]);
    for (const [path, data] of Object.entries(extraFiles[repo] ?? {})) files.push([path, data]);
    hosted.set(
      repo,
      files.map(([path, data]) => ({
        path,
        data,
        lfs: path.endsWith('.onnx') || path.endsWith('.bin'),
        sha256: createHash('sha256').update(data).digest('hex'),
        gitOid: createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex'),
      })),
    );
  }
  const byHash = new Map([...hosted.values()].flat().map((f) => [f.sha256, f]));
  const held = new Set<ServerResponse>();
  const hub: LocalHub = {
    endpoint: '',
    requests: [],
    breakOnce: new Map(),
    cutHeld: () => {
      for (const res of held) res.destroy();
      held.clear();
    },
    corrupt: new Set(),
    close: async () => {},
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://hub');
    const tree = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/([^/]+)$/.exec(url.pathname);
    if (tree) {
      const files = hosted.get(tree[1]!);
      if (!files) return void res.writeHead(404).end('{"error":"Repository not found"}');
      const start = Number(url.searchParams.get('cursor') ?? 0);
      const page = files.slice(start, start + 2);
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (start + 2 < files.length) headers.link = `<${url.pathname}?recursive=true&cursor=${start + 2}>; rel="next"`;
      res.writeHead(200, headers);
      return void res.end(
        JSON.stringify(page.map((f) => ({ type: 'file', path: f.path, oid: f.gitOid, size: f.data.length, ...(f.lfs ? { lfs: { oid: f.sha256, size: f.data.length, pointerSize: 130 } } : {}) }))),
      );
    }
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    const cdn = /^\/cdn\/([0-9a-f]{64})$/.exec(url.pathname);
    let file: HostedFile | undefined;
    if (resolve) {
      file = hosted.get(resolve[1]!)?.find((f) => f.path === decodeURIComponent(resolve[3]!));
      if (file?.lfs) return void res.writeHead(302, { location: `/cdn/${file.sha256}` }).end();
    } else if (cdn) {
      file = byHash.get(cdn[1]!);
    }
    if (!file) return void res.writeHead(404).end('Entry not found');
    hub.requests.push({ path: file.path, range: req.headers.range });
    let data = file.data;
    if (hub.corrupt.has(file.path)) {
      data = Buffer.from(data);
      data[data.length >> 1] ^= 0xff;
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const from = range ? Number(range[1]) : 0;
    const body = data.subarray(from);
    res.writeHead(range ? 206 : 200, {
      'content-length': body.length,
      'accept-ranges': 'bytes',
      ...(range ? { 'content-range': `bytes ${from}-${data.length - 1}/${data.length}` } : {}),
    });
    const cut = hub.breakOnce.get(file.path);
    if (cut !== undefined) {
      hub.breakOnce.delete(file.path);
      res.write(body.subarray(0, cut));
      held.add(res);
      return;
    }
    res.end(body);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  hub.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  hub.close = () => new Promise((ok) => server.close(() => ok()));
  return hub;
}
