/** cluster-key-slot (the hash slot function ioredis itself uses) ships without type declarations. */
declare module 'cluster-key-slot' {
  /** The Redis Cluster hash slot (0..16383) of a key; only the `{hash tag}` counts when the key has one. */
  function calculateSlot(key: string | Buffer): number;
  export = calculateSlot;
}
