// otaroll-bench-parse DIR: what yaml-cpp alone needs for a tree, the measure
// `otaroll plan` is held to (SPEC §8): every *.yaml / *.yml file under DIR
// read and parsed with YAML::LoadAll, one file after another on one thread,
// nothing else. Prints the number of files and documents.
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: otaroll-bench-parse DIR\n");
    return 2;
  }
  long files = 0, documents = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(argv[1])) {
    const auto ext = entry.path().extension();
    if (!entry.is_regular_file() || (ext != ".yaml" && ext != ".yml")) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    try {
      documents += static_cast<long>(YAML::LoadAll(text.str()).size());
    } catch (const YAML::Exception& e) {
      std::fprintf(stderr, "%s: %s\n", entry.path().c_str(), e.what());
      return 1;
    }
    ++files;
  }
  std::printf("%ld files, %ld documents\n", files, documents);
  return 0;
}
