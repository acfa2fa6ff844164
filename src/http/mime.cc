#include "http/mime.h"

#include "http/request.h"

namespace chatd {

namespace {

struct MimeType {
  std::string_view ext;
  std::string_view type;
};

constexpr MimeType kTypes[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"webmanifest", "application/manifest+json"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"ico", "image/x-icon"},
    {"txt", "text/plain; charset=utf-8"},
    {"woff2", "font/woff2"},
    {"wasm", "application/wasm"},
};

}  // namespace

std::string_view content_type_for(std::string_view file_name) {
  size_t slash = file_name.rfind('/');
  if (slash != std::string_view::npos) file_name.remove_prefix(slash + 1);
  size_t dot = file_name.rfind('.');
  if (dot != std::string_view::npos && dot > 0) {
    std::string_view ext = file_name.substr(dot + 1);
    for (const auto& t : kTypes)
      if (ascii_iequals(ext, t.ext)) return t.type;
  }
  return "application/octet-stream";
}

}  // namespace chatd
