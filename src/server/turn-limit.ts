/**
 * At most `perTurn` holders per turn of the event loop; the others wait for a later turn. Nonstop
 * scrapers of a cached body cost little each, but 50 of them always have a request ready: served
 * all at once, they make every turn of the loop long, and the poller, which gets one step per
 * turn per request in flight, crawls. Served a few per turn, they leave every turn short.
 */
export class TurnLimit {
  private used = 0;
  private readonly waiting: Array<() => void> = [];
  private resetScheduled = false;

  constructor(private readonly perTurn: number) {}

  async acquire(): Promise<void> {
    while (this.used >= this.perTurn) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.used += 1;
    this.scheduleReset();
  }

  private scheduleReset(): void {
    if (this.resetScheduled) return;
    this.resetScheduled = true;
    setImmediate(() => {
      this.resetScheduled = false;
      this.used = 0;
      for (const resume of this.waiting.splice(0, this.perTurn)) resume();
    });
  }
}
