export * from "./errors";
export * from "./ndarray";
export * from "./encoding";
export * from "./stream";
export * from "./scan";
export * from "./store";
export * from "./h5maps";
export { validate } from "./validate";
