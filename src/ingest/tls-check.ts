/**
 * Checks a TLS server's certificate (chain and host name) from Node, for the one source kind
 * where ffmpeg cannot be told to: its RTSP demuxer opens the RTSPS connection without passing
 * on -tls_verify or -ca_file, so ffmpeg alone would accept any certificate. The check runs
 * before each connect, with the same trusted authorities ffmpeg is given for HTTPS; a failure
 * becomes an IngestError the stream's status shows.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { connect } from 'node:tls';
import { IngestError } from './ffmpeg-errors.js';

export interface TlsCheckOptions {
  /** Trusted authorities (PEM); Node's own list without one. */
  caFile?: string;
  timeoutMs: number;
}

/** Resolves when `host:port` presents a certificate that is valid for `host`; rejects with an IngestError otherwise. */
export async function checkCertificate(host: string, port: number, options: TlsCheckOptions): Promise<void> {
  const ca = options.caFile ? await readFile(options.caFile) : undefined;
  const name = host.replace(/^\[|\]$/g, '');
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ host: name, port, ca, servername: isIP(name) ? undefined : name, rejectUnauthorized: true, timeout: options.timeoutMs });
    const fail = (err: IngestError) => {
      socket.destroy();
      reject(err);
    };
    socket.once('secureConnect', () => {
      socket.end();
      resolve();
    });
    socket.once('timeout', () => fail(new IngestError('timed out', `no TLS handshake with ${name}:${port} within ${options.timeoutMs / 1000} s`)));
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') fail(new IngestError('connection refused', `connection to ${name}:${port} refused`));
      else if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') fail(new IngestError('host not found', `cannot resolve ${name}`));
      else if (/CERT|SELF_SIGNED|ALTNAME|UNABLE_TO|HOSTNAME/i.test(err.code ?? ''))
        fail(
          new IngestError('untrusted certificate', `the certificate of ${name}:${port} is not trusted (${err.message}); add ?tls_verify=false to the URL for a camera with a self-signed certificate`),
        );
      else fail(new IngestError('failed', `TLS connection to ${name}:${port} failed: ${err.message}`));
    });
  });
}
