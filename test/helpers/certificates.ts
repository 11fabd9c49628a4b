/** A self-signed certificate for tests, made with openssl: `name` names the subject (CN) and the one subject alternative name. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

export async function selfSignedCertificate(keyFile: string, certFile: string, name = '127.0.0.1'): Promise<void> {
  const alt = /^[\d.]+$/.test(name) ? `IP:${name}` : `DNS:${name}`;
  await promisify(execFile)('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    `/CN=${name}`,
    '-addext',
    `subjectAltName=${alt}`,
    '-keyout',
    keyFile,
    '-out',
    certFile,
  ]);
}
