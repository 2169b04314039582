/** C0 and C1 controls, DEL included: a newline would end a heredoc in user data or a line of shell. */
// eslint-disable-next-line no-control-regex
export const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;
