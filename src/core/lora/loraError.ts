/** A LoRA adapter that cannot be read or applied; the message is one sentence naming the adapter and what is wrong. */
export class LoraError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LoraError";
  }
}
