/**
 * A schema's complaints as sentences for people: every problem at once, each saying where it
 * is. Schemas word their own messages with the field's name ("limit must be …"); a message that
 * does not start with its field's path gets the path in front ("history.days: …"). Unknown
 * fields are one problem each, in the words the schema gives them ("unknown setting (known: …)")
 * or as "unknown field", unless the schema's words name them all ("unknown field a, b").
 *
 *   const result = Schema.safeParse(input);
 *   if (!result.success) throw new Error(problemsOf(result.error).join('; '));
 */
import type { z } from 'zod';

/** A bad value as a message shows it: JSON where it has a JSON form (`"x"`, `[1]`), else as text (`undefined`). */
export const shown = (value: unknown): string => JSON.stringify(value) ?? String(value);

/** `where` goes before every problem (a file's name): "c.json history.days: must be a number", "c.json: task must be …". */
export function problemsOf(error: z.ZodError, where?: string): string[] {
  return error.issues.flatMap((issue) => {
    const path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      // A message that names the keys itself is said once, at their object.
      const own = !issue.message.startsWith('Unrecognized key');
      if (own && issue.keys.every((key) => issue.message.includes(key))) return [located(path.join('.'), issue.message, where)];
      const message = own ? issue.message : 'unknown field';
      return issue.keys.map((key) => located([...path, key].join('.'), message, where));
    }
    // A record's bad key: the key's own schema says what is wrong with it.
    const message = issue.code === 'invalid_key' ? (issue.issues[0]?.message ?? issue.message) : issue.message;
    return [located(path.join('.'), message, where)];
  });
}

/** A message naming its field in its first words, in any case ("stream id must …", "Last-Event-ID …"), is not prefixed again. */
function located(path: string, message: string, where: string | undefined): string {
  const named = path !== '' && new RegExp(`^(\\S+ )?${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`, 'i').test(message);
  if (named) return where === undefined ? message : `${where}: ${message}`;
  const at = [where, path].filter(Boolean).join(' ');
  return at ? `${at}: ${message}` : message;
}
