// The client tools behind `legate call` and `legate load`, usable from code.
export { grpcCall, grpcList, grpcDescribe, loadMethod, CallError, NoReflectionError } from './grpc-call.js';
export type { GrpcCallOptions, GrpcCallResult, SchemaOptions } from './grpc-call.js';
export type { GrpcTarget, TlsOptions } from './grpc-channel.js';
export { statusName } from './grpc-channel.js';
export { httpCall } from './http-call.js';
export type { HttpCallOptions, HttpCallResult } from './http-call.js';
export { parseHeaders, readData, UsageError } from './headers.js';
export type { HeaderPair } from './headers.js';
export { runLoad, LIMITS } from './load/run-load.js';
export type { LoadOptions, LoadProgress } from './load/run-load.js';
export { formatSummary } from './load/summary.js';
export type { LoadSummary, LoadProtocol } from './load/summary.js';
export { progressBar } from './load/progress.js';
