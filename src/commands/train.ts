export async function trainCommand(_args: string[]): Promise<number> { throw new Error('not yet'); }
