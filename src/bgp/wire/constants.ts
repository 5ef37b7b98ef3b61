/**
 * BGP-4 protocol constants, named after the RFCs that define them.
 * Owns every number that appears on the wire; no other module uses bare codes.
 */

/** RFC 4271 §4.1: 16-octet marker, 2-octet length, 1-octet type. */
export const HEADER_LENGTH = 19;
export const MARKER_LENGTH = 16;
export const MIN_MESSAGE_LENGTH = 19;
/** RFC 4271 §4.1; RFC 8654 raises it to 65535 when Extended Message is negotiated (not supported). */
export const MAX_MESSAGE_LENGTH = 4096;
export const BGP_VERSION = 4;
export const BGP_PORT = 179;
/** RFC 6793 §9: the 2-octet AS used in place of a 4-octet AS toward old speakers. */
export const AS_TRANS = 23456;

/** RFC 4271 §4.1 message types; RFC 2918 ROUTE-REFRESH. */
export const MessageType = {
  OPEN: 1,
  UPDATE: 2,
  NOTIFICATION: 3,
  KEEPALIVE: 4,
  ROUTE_REFRESH: 5,
} as const;
export type MessageTypeCode = (typeof MessageType)[keyof typeof MessageType];

/** RFC 4760 / IANA address family numbers. */
export const Afi = { IPV4: 1, IPV6: 2 } as const;
export type AfiCode = (typeof Afi)[keyof typeof Afi];
/** RFC 4760 subsequent address family. */
export const Safi = { UNICAST: 1 } as const;
export type SafiCode = number;

/** RFC 5492 capability codes (IANA registry). */
export const CapabilityCode = {
  MULTIPROTOCOL: 1, // RFC 4760
  ROUTE_REFRESH: 2, // RFC 2918
  EXTENDED_NEXT_HOP: 5, // RFC 8950 (recognised, not negotiated)
  EXTENDED_MESSAGE: 6, // RFC 8654 (recognised, not negotiated)
  GRACEFUL_RESTART: 64, // RFC 4724
  FOUR_OCTET_AS: 65, // RFC 6793
  ADD_PATH: 69, // RFC 7911
  ENHANCED_ROUTE_REFRESH: 70, // RFC 7313
  LLGR: 71, // RFC 9494
  FQDN: 73, // draft-walton-bgp-hostname-capability
  ROUTE_REFRESH_OLD: 128, // pre-standard Cisco code
} as const;

/** RFC 4271 §4.3 path attribute type codes, plus later RFCs. */
export const AttrType = {
  ORIGIN: 1,
  AS_PATH: 2,
  NEXT_HOP: 3,
  MULTI_EXIT_DISC: 4,
  LOCAL_PREF: 5,
  ATOMIC_AGGREGATE: 6,
  AGGREGATOR: 7,
  COMMUNITIES: 8, // RFC 1997
  ORIGINATOR_ID: 9, // RFC 4456
  CLUSTER_LIST: 10, // RFC 4456
  MP_REACH_NLRI: 14, // RFC 4760
  MP_UNREACH_NLRI: 15, // RFC 4760
  EXTENDED_COMMUNITIES: 16, // RFC 4360
  AS4_PATH: 17, // RFC 6793
  AS4_AGGREGATOR: 18, // RFC 6793
  LARGE_COMMUNITIES: 32, // RFC 8092
} as const;

/** RFC 4271 §4.3 attribute flag bits. */
export const AttrFlag = {
  OPTIONAL: 0x80,
  TRANSITIVE: 0x40,
  PARTIAL: 0x20,
  EXTENDED_LENGTH: 0x10,
} as const;

/** RFC 4271 §4.3 ORIGIN values. */
export const Origin = { IGP: 0, EGP: 1, INCOMPLETE: 2 } as const;
export type OriginCode = (typeof Origin)[keyof typeof Origin];

/** RFC 4271 §4.3 AS_PATH segment types; RFC 5065 confederation segments. */
export const AsPathSegmentType = {
  AS_SET: 1,
  AS_SEQUENCE: 2,
  AS_CONFED_SEQUENCE: 3,
  AS_CONFED_SET: 4,
} as const;
export type AsPathSegmentTypeCode = (typeof AsPathSegmentType)[keyof typeof AsPathSegmentType];

/** RFC 1997 well-known communities. */
export const WellKnownCommunity = {
  NO_EXPORT: 0xffffff01,
  NO_ADVERTISE: 0xffffff02,
  NO_EXPORT_SUBCONFED: 0xffffff03,
  GRACEFUL_SHUTDOWN: 0xffff0000, // RFC 8326
  BLACKHOLE: 0xffff029a, // RFC 7999
} as const;

/** RFC 4271 §4.5 NOTIFICATION error codes. */
export const ErrorCode = {
  MESSAGE_HEADER: 1,
  OPEN_MESSAGE: 2,
  UPDATE_MESSAGE: 3,
  HOLD_TIMER_EXPIRED: 4,
  FSM: 5,
  CEASE: 6,
  ROUTE_REFRESH_MESSAGE: 7, // RFC 7313
} as const;
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** RFC 4271 §6.1 Message Header Error subcodes. */
export const MessageHeaderError = {
  CONNECTION_NOT_SYNCHRONIZED: 1,
  BAD_MESSAGE_LENGTH: 2,
  BAD_MESSAGE_TYPE: 3,
} as const;

/** RFC 4271 §6.2 OPEN Message Error subcodes; RFC 5492 Unsupported Capability. */
export const OpenMessageError = {
  /** Erratum 4493 "Unspecific": used for malformed optional parameters/capabilities. */
  UNSPECIFIC: 0,
  UNSUPPORTED_VERSION_NUMBER: 1,
  BAD_PEER_AS: 2,
  BAD_BGP_IDENTIFIER: 3,
  UNSUPPORTED_OPTIONAL_PARAMETER: 4,
  UNACCEPTABLE_HOLD_TIME: 6,
  UNSUPPORTED_CAPABILITY: 7,
  ROLE_MISMATCH: 11, // RFC 9234
} as const;

/** RFC 4271 §6.3 UPDATE Message Error subcodes. */
export const UpdateMessageError = {
  MALFORMED_ATTRIBUTE_LIST: 1,
  UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE: 2,
  MISSING_WELL_KNOWN_ATTRIBUTE: 3,
  ATTRIBUTE_FLAGS_ERROR: 4,
  ATTRIBUTE_LENGTH_ERROR: 5,
  INVALID_ORIGIN_ATTRIBUTE: 6,
  INVALID_NEXT_HOP_ATTRIBUTE: 8,
  OPTIONAL_ATTRIBUTE_ERROR: 9,
  INVALID_NETWORK_FIELD: 10,
  MALFORMED_AS_PATH: 11,
} as const;

/** RFC 6608 FSM Error subcodes. */
export const FsmError = {
  UNSPECIFIED: 0,
  UNEXPECTED_MESSAGE_IN_OPENSENT: 1,
  UNEXPECTED_MESSAGE_IN_OPENCONFIRM: 2,
  UNEXPECTED_MESSAGE_IN_ESTABLISHED: 3,
} as const;

/** RFC 4486 Cease subcodes. */
export const CeaseSubcode = {
  MAXIMUM_PREFIXES_REACHED: 1,
  ADMINISTRATIVE_SHUTDOWN: 2,
  PEER_DECONFIGURED: 3,
  ADMINISTRATIVE_RESET: 4,
  CONNECTION_REJECTED: 5,
  OTHER_CONFIGURATION_CHANGE: 6,
  CONNECTION_COLLISION_RESOLUTION: 7,
  OUT_OF_RESOURCES: 8,
  HARD_RESET: 9, // RFC 8538
} as const;

/** RFC 7313 ROUTE-REFRESH Message Error subcodes. */
export const RouteRefreshError = { INVALID_MESSAGE_LENGTH: 1 } as const;

/** RFC 7313 ROUTE-REFRESH message subtypes (the "Reserved" octet). */
export const RouteRefreshSubtype = { NORMAL: 0, BORR: 1, EORR: 2 } as const;

/** RFC 7911 ADD-PATH Send/Receive field. */
export const AddPathMode = { RECEIVE: 1, SEND: 2, BOTH: 3 } as const;

/** RFC 5492 OPEN optional parameter type for capabilities. */
export const OPT_PARAM_CAPABILITIES = 2;
/** RFC 9072 extended optional parameters length marker. */
export const OPT_PARAM_EXTENDED_LENGTH = 255;

/** RFC 9003: maximum Shutdown Communication length in octets. */
export const SHUTDOWN_COMMUNICATION_MAX = 255;

/** Human-readable names for logs (OpenBGPD's suberr_*_names). */
export const errorCodeNames: Record<number, string> = {
  1: "Message Header Error",
  2: "OPEN Message Error",
  3: "UPDATE Message Error",
  4: "Hold Timer Expired",
  5: "Finite State Machine Error",
  6: "Cease",
  7: "ROUTE-REFRESH Message Error",
};
