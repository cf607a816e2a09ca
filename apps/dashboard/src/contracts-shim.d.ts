// src/contracts/wire.ts names Node's Buffer in the worker-side Message type, which the dashboard never
// uses; this alias lets the browser build type-check the shared contracts without pulling in @types/node.
type Buffer = Uint8Array;
