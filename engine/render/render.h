// Rendering a plan for people and machines: text (terminal), JSON
// (schemas/plan.schema.json) and Markdown (a pull-request comment).
#pragma once

#include <cstddef>
#include <ostream>
#include <string>

#include "plan/plan.h"

namespace otaroll::render {

struct TextOptions {
  bool color = false;  // ANSI colour; the CLI decides (terminal, NO_COLOR)
};
std::string Text(const plan::Plan& plan, const TextOptions& options);

// Pretty-printed, keys in a fixed order, trailing newline.
std::string Json(const plan::Plan& plan);
// The same document written to `out` a rollout at a time (`plan --format
// json` on a large tree never holds the whole document).
void JsonTo(const plan::Plan& plan, std::ostream& out);

// GitHub comments hold 65,536 characters; stay well below.
inline constexpr size_t kDefaultMarkdownLimit = 60000;
std::string Markdown(const plan::Plan& plan, size_t max_bytes = kDefaultMarkdownLimit);

}  // namespace otaroll::render
