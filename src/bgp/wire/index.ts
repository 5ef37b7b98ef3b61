/**
 * Public surface of the pure BGP-4 wire codec (Buffer <-> typed message, no I/O).
 * Split like node-postgres pg-protocol: reader/writer, framer, per-message codecs;
 * negotiated facts travel in CodecOptions (GoBGP's MarshallingOption); attributes are one
 * table (BIRD's bgp_attr_table). Supported: RFC 4271, 1997, 2918, 4360, 4456, 4724, 4760,
 * 5492, 6286, 6793, 7313, 7606, 7607, 7911, 8092, 9003, 9072.
 */
export {
  ATTRIBUTE_TABLE,
  ATTRIBUTES_BY_CODE,
  type AttrDescriptor,
  attributeName,
  decodeAsPath,
  encodeAsPath,
  encodePathAttributes,
  mergeAs4Path,
} from "./attributes.ts";
export {
  decodeCapabilities,
  EMPTY_CAPABILITIES,
  encodeCapabilities,
  type NegotiatedSession,
  negotiateSession,
} from "./capabilities.ts";
export * from "./constants.ts";
export { BgpNotificationError } from "./errors.ts";
export { MessageFramer } from "./framer.ts";
export { checkHeader } from "./header.ts";
export {
  decodeMessage,
  encodeMessage,
  keepalive,
  NOTIFICATION_MIN_LENGTH,
  OPEN_MIN_LENGTH,
  ROUTE_REFRESH_LENGTH,
} from "./messages.ts";
export {
  carriesShutdownCommunication,
  decodeShutdownCommunication,
  describeNotification,
  encodeShutdownCommunication,
  notification,
} from "./notification.ts";
export { decodeOpen, encodeOpen, type OpenExpectations, openMyAs, openPeerAs, validateOpen } from "./open.ts";
export {
  canonicalIp,
  decodeNlri,
  familyKey,
  formatIpv4,
  formatIpv6,
  formatPrefix,
  IPV4_UNICAST_KEY,
  IPV6_UNICAST_KEY,
  ipv4Mask,
  parseIpv4,
  parseIpv6,
  parsePrefix,
  prefixContains,
  prefixKey,
} from "./prefix.ts";
export { BufferReader, type UnderflowError } from "./reader.ts";
export * from "./types.ts";
export {
  decodeUpdate,
  encodeUpdate,
  encodeUpdates,
  endOfRib,
  isEndOfRib,
  UPDATE_MIN_LENGTH,
} from "./update.ts";
export { BufferWriter } from "./writer.ts";
