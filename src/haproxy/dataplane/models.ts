/**
 * The Data Plane API v3 models this controller reads and writes, as the API's own spec defines
 * them: generated/dataplaneapi.ts is generated from the spec the pinned dataplaneapi serves
 * (hack/gen-dataplane-types.sh) and checked in, so a fresh clone type-checks without the binary.
 */
import type { components } from './generated/dataplaneapi.js';

type Schemas = components['schemas'];

export type Info = Schemas['info'];
export type Bind = Schemas['bind'];
export type Frontend = Schemas['frontend'];
export type ServerParams = Schemas['server_params'];
export type Server = Schemas['server'];
export type Backend = Schemas['backend'];
export type RuntimeServer = Schemas['runtime_server'];
export type RuntimeAddServer = Schemas['runtime_add_server'];
export type Transaction = Schemas['transaction'];
export type Reload = Schemas['reload'];
