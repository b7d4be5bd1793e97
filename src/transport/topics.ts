// Topic fan-out for the Node transport, doing what uWS does in C++: the frame is encoded into
// WebSocket bytes once per publish and the same Buffer is written to every subscriber.
import * as ws from 'ws';

/** ws's own frame encoder (untyped in @types/ws). */
const { Sender } = ws as unknown as {
  Sender: { frame(data: Buffer, options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean }): Buffer[] };
};

export interface TopicMember {
  /** The topics this member is in, so a closing socket leaves them without a scan. */
  readonly topics: Set<string>;
  /** Writes an already framed message. */
  writeFrame(bytes: Buffer): void;
}

const TEXT_FRAME = { fin: true, opcode: 1, mask: false, readOnly: true, rsv1: false } as const;

/** One unmasked, final text frame: header and payload in a single Buffer (one write per socket). */
export function encodeTextFrame(text: string): Buffer {
  const parts = Sender.frame(Buffer.from(text), TEXT_FRAME);
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

export class Topics<Member extends TopicMember> {
  private readonly members = new Map<string, Set<Member>>();

  subscribe(member: Member, topic: string): void {
    let set = this.members.get(topic);
    if (set === undefined) this.members.set(topic, (set = new Set()));
    set.add(member);
    member.topics.add(topic);
  }

  unsubscribe(member: Member, topic: string): void {
    const set = this.members.get(topic);
    if (set?.delete(member) && set.size === 0) this.members.delete(topic);
    member.topics.delete(topic);
  }

  leaveAll(member: Member): void {
    for (const topic of member.topics) {
      const set = this.members.get(topic);
      if (set?.delete(member) && set.size === 0) this.members.delete(topic);
    }
    member.topics.clear();
  }

  count(topic: string): number {
    return this.members.get(topic)?.size ?? 0;
  }

  publish(topic: string, text: string, except?: Member): void {
    const set = this.members.get(topic);
    if (set === undefined || (set.size === 1 && except !== undefined && set.has(except))) return;
    const bytes = encodeTextFrame(text);
    for (const member of set) if (member !== except) member.writeFrame(bytes);
  }
}
