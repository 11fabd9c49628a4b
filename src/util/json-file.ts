/** Reads a JSON file, with errors that name the file and say what it was for. */
import { readFile } from 'node:fs/promises';

/**
 * @param what  what the file is, for the error ("vocabulary file", "model file")
 * @example const manifest = await readJsonFile('model/captioner.json', 'captioner manifest');
 */
export async function readJsonFile(file: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `${file}: ${what} missing` : `${file}: ${what} unreadable (${code ?? (err as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
  }
}
