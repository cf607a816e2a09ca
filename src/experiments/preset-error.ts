/** An unknown preset or profile; the message lists the valid choices. */
export class PresetError extends Error {
  constructor(
    message: string,
    readonly choices: string[],
  ) {
    super(message);
    this.name = 'PresetError';
  }
}
