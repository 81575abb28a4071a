// The bounds on what a manifest tree may hold (docs/security.md). Each is a
// clear error at the place it is exceeded, checked before the work it bounds:
// a file's size before it is read, a list's length before its items are.
#pragma once

#include <cstddef>

namespace otaroll::manifest {

inline constexpr size_t kMaxWindows = 16;                 // promotion windows of one stage
inline constexpr size_t kMaxFileBytes = 4 * 1024 * 1024;  // one manifest file
inline constexpr size_t kMaxFiles = 100000;               // manifest files in a tree
inline constexpr size_t kMaxDocuments = 1000;             // YAML documents in one file
inline constexpr size_t kMaxDepth = 32;                   // nesting of mappings and lists
inline constexpr size_t kMaxExpandedValues = 1000000;     // values of one file, aliases expanded
inline constexpr size_t kMaxStages = 100;                 // stages of one rollout
inline constexpr size_t kMaxDevices = 10000;              // devices of one SPECIFIC stage (50 jobs of 200)
inline constexpr size_t kMaxSrcVersions = 100;            // spec.srcVersions
inline constexpr size_t kMaxLabels = 64;                  // metadata.labels entries
inline constexpr size_t kMaxLabelKey = 63;                // characters of a label key
inline constexpr size_t kMaxLabelValue = 256;             // characters of a label value
// Items of any one list or mapping, checked on the parser's events before any
// node is built: twice the longest list a manifest may hold (devices), so a
// list near its own limit still gets the error that names its field.
inline constexpr size_t kMaxCollectionItems = 2 * kMaxDevices;

}  // namespace otaroll::manifest
