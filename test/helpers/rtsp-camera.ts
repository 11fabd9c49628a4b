/**
 * A real RTSP camera for tests: Debian's rtsp-server-perl on loopback, fed by ffmpeg pushing a
 * clip in a loop. It serves RTP over UDP, so readers use `?transport=udp`. `stop()` kills both
 * processes (a camera that disappears); `start()` brings it back on the same ports.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { connect } from 'node:net';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect(port, '127.0.0.1');
      sock.once('connect', () => (sock.destroy(), resolve(true)));
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`rtsp server did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function kill(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

export class RtspCamera {
  private server?: ChildProcess;
  private pusher?: ChildProcess;

  private constructor(
    readonly clip: string,
    readonly clientPort: number,
    readonly sourcePort: number,
    readonly rtpPort: number,
  ) {}

  static async create(clip: string): Promise<RtspCamera> {
    const cam = new RtspCamera(clip, await freePort(), await freePort(), 20000 + Math.floor(Math.random() * 20000) * 2);
    await cam.start();
    return cam;
  }

  /** What livecap opens. */
  get url(): string {
    return `rtsp://127.0.0.1:${this.clientPort}/cam?transport=udp`;
  }

  async start(): Promise<void> {
    this.server = spawn(
      'rtsp-server-perl',
      [
        '--clientport',
        String(this.clientPort),
        '--serverport',
        String(this.sourcePort),
        '--client_listen_address',
        '127.0.0.1',
        '--source_listen_address',
        '127.0.0.1',
        '--rtp_start_port',
        String(this.rtpPort),
        '-l',
        '0',
      ],
      { stdio: 'ignore' },
    );
    await waitForPort(this.sourcePort);
    await waitForPort(this.clientPort);
    this.pusher = spawn(
      'ffmpeg',
      ['-hide_banner', '-nostdin', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', this.clip, '-c', 'copy', '-f', 'rtsp', `rtsp://127.0.0.1:${this.sourcePort}/cam`],
      { stdio: 'ignore' },
    );
  }

  async stop(): Promise<void> {
    await Promise.all([kill(this.pusher), kill(this.server)]);
  }
}
