/**
 * Which scoring result may be applied to a document. Pure: no `vscode`, unit-tested.
 *
 * A result is applied only when it is for the document's current version and is the latest request made
 * for that document: a slow run for version 3 that finishes after version 4 was requested (or after the
 * document changed again, or was closed) is dropped, so highlights never describe text that is gone.
 */

export interface ScoreTicket {
  docId: string;
  version: number;
  /** Increases with every request for any document; identifies this request. */
  sequence: number;
}

export class VersionGate {
  private readonly latest = new Map<string, ScoreTicket>();
  private nextSequence = 1;

  /** Records that a score of `docId` at `version` was requested; the returned ticket supersedes earlier ones. */
  begin(docId: string, version: number): ScoreTicket {
    const ticket: ScoreTicket = { docId, version, sequence: this.nextSequence++ };
    this.latest.set(docId, ticket);
    return ticket;
  }

  /** Whether a request's result may be applied, given the document's version now (undefined = closed). */
  accepts(ticket: ScoreTicket, currentVersion: number | undefined): boolean {
    const latest = this.latest.get(ticket.docId);
    return latest !== undefined && latest.sequence === ticket.sequence && currentVersion !== undefined && currentVersion === ticket.version;
  }

  /** Whether `ticket` is still the latest request for its document (a newer one cancels it). */
  isLatest(ticket: ScoreTicket): boolean {
    return this.latest.get(ticket.docId)?.sequence === ticket.sequence;
  }

  /** Ends the ticket's request, if it is still the latest: the document has no run in flight. */
  finish(ticket: ScoreTicket): void {
    if (this.isLatest(ticket)) this.latest.delete(ticket.docId);
  }

  /** Whether a request for `docId` is in flight. */
  inFlight(docId: string): ScoreTicket | undefined {
    return this.latest.get(docId);
  }

  /** Forgets a document (closed): any result still in flight for it will be refused. */
  forget(docId: string): void {
    this.latest.delete(docId);
  }
}
