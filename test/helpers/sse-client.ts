/** Reads a server-sent event response, block by block, until `enough` says stop or it ends. */
export interface SseEvent {
  event: string;
  id?: string;
  data: any;
  /** Length of the data line, as sent. */
  bytes: number;
}

export async function readEvents(res: Response, enough: (events: SseEvent[]) => boolean): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  while (!enough(events)) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut: number;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const fields = Object.fromEntries(
        block
          .split('\n')
          .filter((l) => !l.startsWith(':'))
          .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]),
      );
      if (fields.data) events.push({ event: fields.event, id: fields.id, data: JSON.parse(fields.data), bytes: fields.data.length });
    }
  }
  await reader.cancel();
  return events;
}
