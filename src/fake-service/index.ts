/** Backends the local runtime starts for known images: fake-service and the conformance echo backend. */
export { startFakeService, type FakeServiceHandle, type FakeServiceOptions } from './fake-service.js';
export { startEchoBackend, type EchoBackendHandle, type EchoBackendOptions } from './echo-backend.js';
export { ENV_SPECS, parseFakeServiceEnv, type Env, type FakeServiceConfig } from './config.js';
