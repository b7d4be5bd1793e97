// The hub hands every subscriber of a publish the SAME frame string, so what a session kind
// derives from a frame (decoded fields, an escaped copy) is worth keeping per frame: it is then
// built once per publish on this node, not once per session. Bounded, oldest out first: a frame
// is only looked up again while the sessions of one turn take it.
export function frameCache<V>(max: number, build: (frame: string) => V): (frame: string) => V {
  const cache = new Map<string, V>();
  return (frame) => {
    let value = cache.get(frame);
    if (value === undefined) {
      value = build(frame);
      if (cache.size >= max) cache.delete(cache.keys().next().value!);
      cache.set(frame, value);
    }
    return value;
  };
}
