import WebSocket from 'ws';

/**
 * One viewer's visit: connect to `/ws`, subscribe to `stream` after `since`, read for `stayMs`,
 * then drop (abruptly, or with a close). Returns the seqs received, with -1 for each gap.
 */
export async function visit(url: string, stream: string, since: number, stayMs: number, abrupt = true): Promise<number[]> {
  const socket = new WebSocket(url.replace('http', 'ws') + '/ws');
  const seqs: number[] = [];
  socket.on('message', (d) => {
    const m = JSON.parse(d.toString());
    if (m.stream === stream && typeof m.seq === 'number') seqs.push(m.seq);
    if (m.type === 'gap') seqs.push(-1);
  });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  socket.send(JSON.stringify({ type: 'subscribe', streams: [stream], since: { [stream]: since } }));
  await new Promise((r) => setTimeout(r, stayMs));
  if (abrupt) socket.terminate();
  else socket.close();
  return seqs;
}
