#include "manifest/freeze.h"

#include <fmt/format.h>

#include "core/names.h"
#include "core/time.h"
#include "manifest/fields.h"

namespace otaroll::manifest {

namespace {

constexpr size_t kMaxReason = 200;

class FreezeReader : public FieldReader {
 public:
  using FieldReader::FieldReader;

  std::optional<Freeze> Read(const Node& doc) {
    Entries top;
    if (!ReadMap(doc, doc.Mark(), "", {"apiVersion", "kind", "metadata", "spec"}, top,
                 "a Freeze mapping (apiVersion, kind, metadata, spec)")) {
      return std::nullopt;
    }
    Freeze f;
    f.position = PositionOf(doc.Mark());
    std::map<std::string, std::string> labels;  // allowed, for tools; otaroll does not read them
    ReadIdentity(top, doc, "a freeze name", f.name, f.name_position, labels);
    if (auto* spec = Require(top, "spec", doc.Mark(), "", "a spec mapping with from, until and reason")) {
      ReadSpec(*spec, f);
    }
    if (failed_) return std::nullopt;
    return f;
  }

 private:
  void ReadSpec(const Entry& spec, Freeze& f) {
    Entries m;
    if (!ReadMap(spec.value, MarkOf(spec), "spec", {"from", "until", "reason", "selector"}, m,
                 "a mapping with from, until, reason and selector")) {
      return;
    }
    auto instant = [&](const char* key, core::Time& at, std::string& text) {
      const std::string p = Join("spec", key);
      auto* x = Require(m, key, MarkOf(spec), "spec", "an RFC 3339 time like 2026-12-23T00:00:00+01:00");
      if (x == nullptr) return false;
      auto v = String(*x, p, "an RFC 3339 time like 2026-12-23T00:00:00+01:00");
      if (!v) return false;
      auto t = core::ParseRfc3339(*v);
      if (!t) {
        Report(*x, p, fmt::format("{} is not an RFC 3339 time; expected e.g. 2026-12-23T00:00:00+01:00", Quote(*v)));
        return false;
      }
      at = *t;
      text = *v;
      return true;
    };
    const bool from = instant("from", f.from, f.from_text);
    const bool until = instant("until", f.until, f.until_text);
    if (from && until && f.until <= f.from) {
      Report(*Find(m, "until"), "spec.until",
             fmt::format("{} is not after spec.from ({}); a freeze ends after it begins", f.until_text, f.from_text));
    }
    if (auto* x = Require(m, "reason", MarkOf(spec), "spec", "a reason people will read in the plan")) {
      if (auto v = String(*x, "spec.reason", "a sentence")) {
        if (v->empty() || v->size() > kMaxReason || !core::IsPrintable(*v)) {
          Report(*x, "spec.reason",
                 fmt::format("{} is not a valid reason; allowed: 1-{} printable characters", Quote(*v), kMaxReason));
        } else {
          f.reason = *v;
        }
      }
    }
    if (auto* x = Find(m, "selector")) ReadLabels(*x, "spec.selector", f.selector);
  }
};

}  // namespace

bool IsFreeze(const Node& doc) {
  if (!doc.IsMap()) return false;
  const Node kind = doc.Get("kind");
  return kind.IsScalar() && kind.Scalar() == "Freeze";
}

std::optional<Freeze> ReadFreeze(const Node& doc, const FileName& file, std::vector<core::Diagnostic>& errors) {
  FreezeReader reader(file, errors);
  return reader.Read(doc);
}

}  // namespace otaroll::manifest
