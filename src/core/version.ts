// The bundler inlines package.json, so the version is right in dist/ and in the VSIX alike.
import pkg from "../../package.json";

/** BN Lens's own version, for reports. */
export const VERSION: string = pkg.version;
