/** What names a stream and what it may ask of its captioner: the same rules for the API, the config file and the store. */

/** The longest prompt a stream may give its captioner, in characters. */
export const MAX_PROMPT_LENGTH = 2000;

/** Characters a prompt may not hold: control characters other than tab and line breaks. */
export const PROMPT_CONTROL_CHARACTERS = /[\u0000-\u0008\u000b-\u001f\u007f]/;

/** A stream id: 1-64 letters, digits, '-' or '_', starting with a letter or digit. */
export const STREAM_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
