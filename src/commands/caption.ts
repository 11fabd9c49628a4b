export async function captionCommand(_args: string[]): Promise<number> { throw new Error('not yet'); }
