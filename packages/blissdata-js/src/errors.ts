// Errors of protocol 1, named as in spec/PROTOCOL.md and the conformance vectors.
// The Python class hierarchy is mirrored where the vectors rely on it
// (IndexWontBeThereError satisfies "IndexError"); `mro()` lists the names.

export class BlissdataError extends Error {
  constructor(message?: string) {
    super(message);
    this.name = new.target.name;
  }
}
export class IndexError extends BlissdataError {}
export class ValueError extends BlissdataError {}
export class KeyError extends BlissdataError {}
export class TypeError_ extends BlissdataError {}

export class DatabaseNotInitialisedError extends BlissdataError {}
export class ProtocolVersionError extends BlissdataError {}
export class DatabaseNotEmptyError extends BlissdataError {}
export class ScanLoadError extends BlissdataError {}
export class ScanNotFoundError extends ScanLoadError {}
export class ScanValidationError extends ScanLoadError {}
export class UnauthorizeStateTransition extends BlissdataError {}
export class NoScanAvailable extends BlissdataError {}
export class EndOfStream extends BlissdataError {}
export class IndexNoMoreThereError extends IndexError {}
export class IndexNotYetThereError extends IndexError {}
export class IndexWontBeThereError extends IndexError {}
export class UnknownEncodingError extends ValueError {}
export class MalformedEntryError extends ValueError {}
export class StreamSealedError extends BlissdataError {}
export class PublishError extends BlissdataError {}
export class MissingPluginException extends BlissdataError {}

/** Class names from the error's own class up to BlissdataError (like a Python MRO). */
export function mro(err: unknown): string[] {
  const out: string[] = [];
  let proto = err !== null && typeof err === "object" ? Object.getPrototypeOf(err) : null;
  while (proto && proto !== Object.prototype) {
    const name = proto.constructor?.name;
    if (name) out.push(name === "TypeError_" ? "TypeError" : name);
    proto = Object.getPrototypeOf(proto);
  }
  return out;
}
