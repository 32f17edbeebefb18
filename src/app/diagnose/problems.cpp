#include "app/diagnose/problems.h"

#include "core/classify.h"
#include "core/units.h"

namespace pgvigil {

std::string_view toString(Problem p) {
  switch (p) {
    case Problem::kNone:
      return "none";
    case Problem::kDnsFailure:
      return "dns_failure";
    case Problem::kRefused:
      return "refused";
    case Problem::kNoListenerTcp:
      return "no_tcp_listener";
    case Problem::kWrongPort:
      return "wrong_port";
    case Problem::kNoSocket:
      return "no_socket";
    case Problem::kSocketPermission:
      return "socket_permission";
    case Problem::kUnreachable:
      return "unreachable";
    case Problem::kConnectTimeout:
      return "connect_timeout";
    case Problem::kStartupTimeout:
      return "startup_timeout";
    case Problem::kReset:
      return "reset";
    case Problem::kTlsNotOffered:
      return "tls_not_offered";
    case Problem::kTlsCertificate:
      return "tls_certificate";
    case Problem::kTlsOther:
      return "tls";
    case Problem::kStartingUp:
      return "starting_up";
    case Problem::kHotStandbyOff:
      return "hot_standby_off";
    case Problem::kShuttingDown:
      return "shutting_down";
    case Problem::kTooManyConnections:
      return "too_many_connections";
    case Problem::kHbaNoEntry:
      return "pg_hba_no_entry";
    case Problem::kHbaReject:
      return "pg_hba_reject";
    case Problem::kPasswordFailed:
      return "password_failed";
    case Problem::kNoPassword:
      return "no_password";
    case Problem::kRoleMissing:
      return "role_missing";
    case Problem::kPeerAuthFailed:
      return "peer_auth_failed";
    case Problem::kAuthOther:
      return "auth_failed";
    case Problem::kNoDatabase:
      return "no_database";
    case Problem::kQueryError:
      return "query_error";
    case Problem::kQueryTimeout:
      return "query_timeout";
    case Problem::kSaturated:
      return "saturated";
    case Problem::kNearlySaturated:
      return "nearly_saturated";
    case Problem::kInternal:
      return "internal";
  }
  return "internal";
}

namespace {

bool has(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

}  // namespace

Problem problemFor(Cause cause, Phase phase, std::string_view m) {
  switch (cause) {
    case Cause::kNone:
      return Problem::kNone;
    case Cause::kDns:
      return Problem::kDnsFailure;
    case Cause::kRefused:
      if (has(m, "No such file or directory")) return Problem::kNoSocket;
      if (has(m, "No route to host") || has(m, "Network is unreachable"))
        return Problem::kUnreachable;
      return Problem::kRefused;
    case Cause::kTimeout:
      if (phase == Phase::kConnect) return Problem::kConnectTimeout;
      if (phase == Phase::kQuery) return Problem::kQueryTimeout;
      return Problem::kStartupTimeout;
    case Cause::kReset:
      return Problem::kReset;
    case Cause::kTls:
      if (has(m, "server does not support SSL")) return Problem::kTlsNotOffered;
      if (has(m, "certificate") || has(m, "root.crt") || has(m, "does not match host name"))
        return Problem::kTlsCertificate;
      return Problem::kTlsOther;
    case Cause::kStartingUp:
      return has(m, "Hot standby mode is disabled") ? Problem::kHotStandbyOff
                                                    : Problem::kStartingUp;
    case Cause::kShuttingDown:
      return Problem::kShuttingDown;
    case Cause::kTooManyConnections:
      return Problem::kTooManyConnections;
    case Cause::kAuthFailed:
      if (has(m, "no pg_hba.conf entry")) return Problem::kHbaNoEntry;
      if (has(m, "pg_hba.conf rejects connection")) return Problem::kHbaReject;
      if (has(m, "password authentication failed")) return Problem::kPasswordFailed;
      if (has(m, "no password supplied") || has(m, "password is required"))
        return Problem::kNoPassword;
      if (has(m, "Peer authentication failed") || has(m, "Ident authentication failed"))
        return Problem::kPeerAuthFailed;
      if (has(m, "role \"") && has(m, "\" does not exist")) return Problem::kRoleMissing;
      return Problem::kAuthOther;
    case Cause::kNoDatabase:
      return Problem::kNoDatabase;
    case Cause::kQueryError:
      return Problem::kQueryError;
    case Cause::kInternal:
      // A unix socket that may not be opened: check leaves it unclassified too.
      if (has(m, "Permission denied")) return Problem::kSocketPermission;
      return Problem::kInternal;
    case Cause::kRestarterUnreachable:  // never a round's cause
      return Problem::kInternal;
  }
  return Problem::kInternal;
}

Problem classifyConnectionError(std::string_view message) {
  return problemFor(classify(Phase::kStartup, "", message), Phase::kStartup, message);
}

Cause causeOf(Problem p) {
  switch (p) {
    case Problem::kNone:
    case Problem::kNearlySaturated:
      return Cause::kNone;
    case Problem::kDnsFailure:
      return Cause::kDns;
    case Problem::kRefused:
    case Problem::kNoListenerTcp:
    case Problem::kWrongPort:
    case Problem::kNoSocket:
    case Problem::kSocketPermission:
    case Problem::kUnreachable:
      return Cause::kRefused;
    case Problem::kConnectTimeout:
    case Problem::kStartupTimeout:
    case Problem::kQueryTimeout:
      return Cause::kTimeout;
    case Problem::kReset:
      return Cause::kReset;
    case Problem::kTlsNotOffered:
    case Problem::kTlsCertificate:
    case Problem::kTlsOther:
      return Cause::kTls;
    case Problem::kStartingUp:
    case Problem::kHotStandbyOff:
      return Cause::kStartingUp;
    case Problem::kShuttingDown:
      return Cause::kShuttingDown;
    case Problem::kTooManyConnections:
    case Problem::kSaturated:
      return Cause::kTooManyConnections;
    case Problem::kHbaNoEntry:
    case Problem::kHbaReject:
    case Problem::kPasswordFailed:
    case Problem::kNoPassword:
    case Problem::kRoleMissing:
    case Problem::kPeerAuthFailed:
    case Problem::kAuthOther:
      return Cause::kAuthFailed;
    case Problem::kNoDatabase:
      return Cause::kNoDatabase;
    case Problem::kQueryError:
      return Cause::kQueryError;
    case Problem::kInternal:
      return Cause::kInternal;
  }
  return Cause::kInternal;
}

std::string durationText(Millis d) {
  return formatDuration(d);
}

}  // namespace pgvigil
