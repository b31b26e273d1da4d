#include "status.h"

namespace tasker {

const char* statusName(Status s) noexcept {
  switch (s) {
    case Status::Ok: return "ok";
    case Status::CredentialsMissing: return "credentials_missing";
    case Status::TokenTooLarge: return "token_too_large";
    case Status::TokenMalformed: return "token_malformed";
    case Status::TokenBadEncoding: return "token_bad_encoding";
    case Status::TokenBadJson: return "token_bad_json";
    case Status::TokenDuplicateMember: return "token_duplicate_member";
    case Status::TokenAlgNotAllowed: return "token_alg_not_allowed";
    case Status::TokenCritUnsupported: return "token_crit_unsupported";
    case Status::TokenKidMissing: return "token_kid_missing";
    case Status::TokenUnknownKid: return "token_unknown_kid";
    case Status::TokenAlgKeyMismatch: return "token_alg_key_mismatch";
    case Status::TokenBadSignature: return "token_bad_signature";
    case Status::TokenExpired: return "token_expired";
    case Status::TokenNotYetValid: return "token_not_yet_valid";
    case Status::TokenMissingClaim: return "token_missing_claim";
    case Status::TokenBadClaimType: return "token_bad_claim_type";
    case Status::TokenBadIssuer: return "token_bad_issuer";
    case Status::TokenBadAudience: return "token_bad_audience";
    case Status::TokenBadPermissionsClaim: return "token_bad_permissions_claim";
    case Status::TokenUnknownPermission: return "token_unknown_permission";
    case Status::ApiKeyInvalid: return "api_key_invalid";
    case Status::PermDenied: return "permission_denied";
    case Status::PermMethodNotCovered: return "method_not_covered";
    case Status::KeyUnreadable: return "key_unreadable";
    case Status::KeyInvalidPem: return "key_invalid_pem";
    case Status::KeyMultiplePemBlocks: return "key_multiple_pem_blocks";
    case Status::KeyUnsupported: return "key_unsupported";
    case Status::KeyTooSmall: return "key_too_small";
    case Status::JwksTooLarge: return "jwks_too_large";
    case Status::JwksBadJson: return "jwks_bad_json";
    case Status::JwksNoUsableKeys: return "jwks_no_usable_keys";
    case Status::KeysUnavailable: return "keys_unavailable";
    case Status::FetchFailed: return "fetch_failed";
    case Status::FetchTimeout: return "fetch_timeout";
    case Status::FetchHttpStatus: return "fetch_http_status";
    case Status::FetchTooLarge: return "fetch_too_large";
    case Status::ConfigUnknownPermission: return "config_unknown_permission";
    case Status::ConfigWildcardRequired: return "config_wildcard_required";
    case Status::ConfigBadMethod: return "config_bad_method";
    case Status::ConfigBadAlgorithm: return "config_bad_algorithm";
    case Status::ConfigBadHash: return "config_bad_hash";
    case Status::ConfigDuplicateKey: return "config_duplicate_key";
    case Status::ConfigInvalid: return "config_invalid";
    case Status::ConfigFileUnreadable: return "config_file_unreadable";
    case Status::ConfigFileSyntax: return "config_file_syntax";
    case Status::ConfigTableMissing: return "config_table_missing";
    case Status::Internal: return "internal";
    case Status::OutOfMemory: return "out_of_memory";
  }
  return "unknown_status";
}

const char* failureReason(Status s) noexcept {
  switch (s) {
    case Status::CredentialsMissing:
      return "missing";
    case Status::TokenTooLarge:
    case Status::TokenMalformed:
    case Status::TokenBadEncoding:
    case Status::TokenBadJson:
    case Status::TokenDuplicateMember:
    case Status::TokenAlgNotAllowed:
    case Status::TokenCritUnsupported:
    case Status::TokenKidMissing:
      return "malformed";
    case Status::TokenExpired:
      return "expired";
    case Status::TokenNotYetValid:
      return "not_yet_valid";
    case Status::TokenBadSignature:
    case Status::TokenAlgKeyMismatch:
      return "invalid_signature";
    case Status::TokenMissingClaim:
    case Status::TokenBadClaimType:
    case Status::TokenBadIssuer:
    case Status::TokenBadAudience:
    case Status::TokenBadPermissionsClaim:
      return "invalid_claims";
    case Status::TokenUnknownKid:
      return "unknown_key";
    case Status::TokenUnknownPermission:
      return "unknown_permissions";
    case Status::ApiKeyInvalid:
      return "invalid_api_key";
    case Status::KeysUnavailable:
      return "keys_unavailable";
    default:
      return nullptr;
  }
}

}  // namespace tasker
