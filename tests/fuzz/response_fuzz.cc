// Fuzz target: the platform response parser. The first byte picks the HTTP
// status; the rest is the body, given to every parser.
#include <cstddef>
#include <cstdint>
#include <string>

#include "platform/wire.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace otaroll::platform;
  static const long kStatuses[] = {200, 200, 200, 400, 403, 404, 413, 500, 502, 503, 204, 301};
  HttpResponse r;
  r.status = size == 0 ? 200 : kStatuses[data[0] % (sizeof kStatuses / sizeof kStatuses[0])];
  r.body.assign(reinterpret_cast<const char*>(data) + (size == 0 ? 0 : 1), size == 0 ? 0 : size - 1);
  r.content_type = "application/json";
  auto describe = [](const auto& result) {
    if (!result.ok()) (void)result.error().Describe();
  };
  describe(ParseCreateJob(r));
  describe(ParseQueryJob(r));
  describe(ParseJobPage(r));
  describe(ParseTaskPage(r));
  describe(ParseAck(r));
  return 0;
}
