#include "probes/tls_cert.h"

#include <openssl/asn1.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>

namespace pgvigil {

std::optional<WallTime> serverCertNotAfter(PGconn* conn) {
  if (!conn || PQsslInUse(conn) == 0) return std::nullopt;
  auto* ssl = static_cast<SSL*>(PQsslStruct(conn, "OpenSSL"));
  if (!ssl) return std::nullopt;
  std::unique_ptr<X509, decltype(&X509_free)> cert(SSL_get1_peer_certificate(ssl), &X509_free);
  if (!cert) return std::nullopt;
  const ASN1_TIME* notAfter = X509_get0_notAfter(cert.get());
  if (!notAfter) return std::nullopt;
  // Seconds from the Unix epoch to notAfter: ASN1_TIME_diff from an ASN1_TIME of time 0.
  std::unique_ptr<ASN1_TIME, decltype(&ASN1_TIME_free)> epoch(ASN1_TIME_set(nullptr, 0),
                                                              &ASN1_TIME_free);
  int days = 0, seconds = 0;
  if (!epoch || ASN1_TIME_diff(&days, &seconds, epoch.get(), notAfter) != 1) return std::nullopt;
  return WallTime{std::chrono::seconds{int64_t{days} * 86400 + seconds}};
}

}  // namespace pgvigil
