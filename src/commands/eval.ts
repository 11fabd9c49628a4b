export async function evalCommand(_args: string[]): Promise<number> { throw new Error('not yet'); }
