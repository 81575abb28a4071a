// A throwaway PKI for TLS tests, made in-process with the OpenSSL C API (no
// openssl CLI): a CA, a server certificate for 127.0.0.1 (SAN IP:127.0.0.1
// and DNS:localhost) signed by it with its key, and a second, unrelated CA.
// EC P-256 keys; every certificate is valid from an hour ago for two days.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace otaroll::test_util {

struct TestPki {
  std::string ca_cert;          // PEM file: the CA that signed server_cert
  std::string server_cert;      // PEM file: CN=127.0.0.1, SAN IP:127.0.0.1, DNS:localhost
  std::string server_key;       // PEM file: the server's private key (unencrypted)
  std::string other_ca_cert;    // PEM file: a CA that signed nothing here
  std::string wrong_name_cert;  // PEM file: signed by ca_cert, for server_key, named only otherhost.example
};

namespace tls_detail {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free_all(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Cert = std::unique_ptr<X509, X509Free>;

inline void Check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error("test PKI: " + what + " failed");
}

inline Pkey NewKey() {
  Pkey key(EVP_EC_gen("P-256"));
  Check(key != nullptr, "generating an EC P-256 key");
  return key;
}

// Adds an X.509v3 extension given in openssl.cnf syntax.
inline void AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  Check(ext != nullptr, std::string("making extension ") + OBJ_nid2sn(nid) + "=" + value);
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  Check(ok == 1, std::string("adding extension ") + OBJ_nid2sn(nid));
}

// A certificate for `key` named CN=`common_name`, signed by issuer/issuer_key,
// or self-signed when issuer is null.
inline Cert MakeCert(const std::string& common_name, long serial, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key,
                     bool is_ca, const char* san = "IP:127.0.0.1,DNS:localhost") {
  Cert cert(X509_new());
  Check(cert != nullptr, "X509_new");
  X509* c = cert.get();
  Check(X509_set_version(c, X509_VERSION_3) == 1, "X509_set_version");
  Check(ASN1_INTEGER_set(X509_get_serialNumber(c), serial) == 1, "setting the serial number");
  Check(X509_gmtime_adj(X509_getm_notBefore(c), -3600) != nullptr, "setting notBefore");
  Check(X509_gmtime_adj(X509_getm_notAfter(c), 2 * 24 * 3600) != nullptr, "setting notAfter");
  Check(X509_set_pubkey(c, key) == 1, "X509_set_pubkey");
  X509_NAME* name = X509_get_subject_name(c);
  Check(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("otaroll tests"), -1,
                                   -1, 0) == 1 &&
            X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                       reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0) == 1,
        "setting the subject name");
  X509* signer = issuer != nullptr ? issuer : c;
  Check(X509_set_issuer_name(c, X509_get_subject_name(signer)) == 1, "setting the issuer name");
  if (is_ca) {
    AddExtension(c, signer, NID_basic_constraints, "critical,CA:TRUE");
    AddExtension(c, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    AddExtension(c, signer, NID_subject_key_identifier, "hash");
  } else {
    AddExtension(c, signer, NID_basic_constraints, "critical,CA:FALSE");
    AddExtension(c, signer, NID_key_usage, "critical,digitalSignature");
    AddExtension(c, signer, NID_ext_key_usage, "serverAuth");
    AddExtension(c, signer, NID_subject_alt_name, san);
    AddExtension(c, signer, NID_subject_key_identifier, "hash");
    AddExtension(c, signer, NID_authority_key_identifier, "keyid:always");
  }
  Check(X509_sign(c, issuer_key != nullptr ? issuer_key : key, EVP_sha256()) > 0, "signing " + common_name);
  return cert;
}

inline std::unique_ptr<BIO, BioFree> OpenForWrite(const std::string& path) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_file(path.c_str(), "w"));
  Check(bio != nullptr, "opening " + path);
  return bio;
}

inline void WriteCert(const std::string& path, X509* cert) {
  auto bio = OpenForWrite(path);
  Check(PEM_write_bio_X509(bio.get(), cert) == 1, "writing " + path);
}

inline void WriteKey(const std::string& path, EVP_PKEY* key) {
  auto bio = OpenForWrite(path);
  Check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1, "writing " + path);
}

}  // namespace tls_detail

// Writes ca.pem, server.pem, server-key.pem and other-ca.pem into `dir`
// (e.g. a TempDir) and returns their paths. Throws std::runtime_error on any
// OpenSSL failure.
inline TestPki MakeTestPki(const std::string& dir) {
  using namespace tls_detail;
  Pkey ca_key = NewKey();
  Cert ca = MakeCert("otaroll test CA", 1, ca_key.get(), nullptr, nullptr, true);
  Pkey server_key = NewKey();
  Cert server = MakeCert("127.0.0.1", 2, server_key.get(), ca.get(), ca_key.get(), false);
  Pkey other_key = NewKey();
  Cert other = MakeCert("otaroll unrelated test CA", 3, other_key.get(), nullptr, nullptr, true);

  Cert wrong_name =
      MakeCert("otherhost.example", 4, server_key.get(), ca.get(), ca_key.get(), false, "DNS:otherhost.example");

  TestPki pki{dir + "/ca.pem", dir + "/server.pem", dir + "/server-key.pem", dir + "/other-ca.pem",
              dir + "/wrong-name.pem"};
  WriteCert(pki.wrong_name_cert, wrong_name.get());
  WriteCert(pki.ca_cert, ca.get());
  WriteCert(pki.server_cert, server.get());
  WriteKey(pki.server_key, server_key.get());
  WriteCert(pki.other_ca_cert, other.get());
  return pki;
}

}  // namespace otaroll::test_util
