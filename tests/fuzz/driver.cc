// A standalone driver for the fuzz targets, for compilers without libFuzzer
// (the suite's g++ build): runs every file given (or below a folder given),
// then a bounded number of deterministic mutations of them (bit flips, byte
// insertions and deletions, splices, repeated chunks). It finds crashes and
// sanitizer errors, not coverage: scripts/fuzz.sh runs the real fuzzer.
//   driver [--runs N] [--seed S] [--max-len N] PATH...
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// With OTAROLL_FUZZ_LAST=FILE each input is written there before it runs, so
// the input that crashed or hung can be found.
void Run(const std::string& input) {
  static const char* last = std::getenv("OTAROLL_FUZZ_LAST");
  if (last != nullptr) std::ofstream(last, std::ios::binary | std::ios::trunc) << input;
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
}

std::string Mutate(std::string s, const std::vector<std::string>& corpus, std::mt19937_64& rng, size_t max_len) {
  auto pick = [&rng](size_t n) { return n == 0 ? size_t{0} : static_cast<size_t>(rng() % n); };
  const int steps = 1 + static_cast<int>(pick(4));
  for (int i = 0; i < steps; ++i) {
    switch (pick(7)) {
      case 0:
        if (!s.empty()) s[pick(s.size())] ^= static_cast<char>(1u << pick(8));
        break;
      case 1: s.insert(pick(s.size() + 1), 1, static_cast<char>(rng())); break;
      case 2:
        if (!s.empty()) s.erase(pick(s.size()), 1 + pick(8));
        break;
      case 3: {
        static const char* kTokens[] = {"&a ",        "*a",   "[",    "]",     "{",
                                        "}",          ": ",   "\n- ", "---\n", "\"\\e[2J\"",
                                        "!!binary ",  "\t",   "\xff", "1e999", "\"Total\":9223372036854775807",
                                        "\"JobId\":", "null", "true", "%",     "\\u0000"};
        s.insert(pick(s.size() + 1), kTokens[pick(sizeof kTokens / sizeof kTokens[0])]);
        break;
      }
      case 4: {
        const std::string& other = corpus[pick(corpus.size())];
        if (!other.empty()) {
          size_t at = pick(other.size());
          s.insert(pick(s.size() + 1), other.substr(at, 1 + pick(64)));
        }
        break;
      }
      case 5:
        if (!s.empty()) {
          size_t at = pick(s.size());
          std::string chunk = s.substr(at, 1 + pick(16));
          for (size_t k = pick(8); k > 0; --k) s.insert(at, chunk);
        }
        break;
      default:
        if (!s.empty()) s.resize(pick(s.size()));
        break;
    }
    if (s.size() > max_len) s.resize(max_len);
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  long runs = 10000;
  uint64_t seed = 1;
  size_t max_len = 65536;
  std::vector<std::string> corpus;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--runs" && i + 1 < argc) {
      runs = std::atol(argv[++i]);
    } else if (arg == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--max-len" && i + 1 < argc) {
      max_len = std::strtoull(argv[++i], nullptr, 10);
    } else if (std::filesystem::is_directory(arg)) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(arg)) {
        if (e.is_regular_file()) corpus.push_back(Slurp(e.path()));
      }
    } else {
      corpus.push_back(Slurp(arg));
    }
  }
  if (corpus.empty()) corpus.push_back("");
  for (const auto& input : corpus) Run(input);
  std::mt19937_64 rng(seed);
  for (long i = 0; i < runs; ++i) {
    Run(Mutate(corpus[static_cast<size_t>(rng() % corpus.size())], corpus, rng, max_len));
  }
  std::printf("fuzz driver: %zu corpus inputs and %ld mutations (seed %llu) ran without a crash\n", corpus.size(), runs,
              static_cast<unsigned long long>(seed));
  return 0;
}
