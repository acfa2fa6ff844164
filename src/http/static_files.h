// Serves the files below one root directory (the web client in static/).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/block.h"
#include "http/request.h"

namespace chatd {

// Larger files are refused with 403 "file too large to serve": the whole
// file is read into one block, and a chat client has no business being large.
inline constexpr size_t kMaxStaticFileBytes = 16 << 20;

// Maps GET/HEAD paths to files below a root and answers with whole responses.
//
// "/" and "/chat.html" are the client. The path is percent-decoded once (a
// bad escape is 400); NUL, backslashes, "..", "." and other dot-segments,
// empty segments, directories, non-regular files and anything whose realpath
// leaves the root (symlinks out) are 404 - nothing says whether such a file
// exists. Directories are 404, not their index.html: the only page is "/".
// Responses carry Content-Type, Content-Length, ETag (size and mtime),
// Last-Modified and "Cache-Control: no-cache" (always revalidate). A matching
// If-None-Match gives 304 and, when present, decides alone; otherwise
// If-Modified-Since at or after the file's mtime gives 304.
//
// Reading the file happens on the event loop: these are small local files
// read once per request, which we accept rather than adding a thread.
// Holds only the resolved root path; opens no descriptor between requests.
class StaticFiles {
 public:
  // Resolves `root` (realpath) once. Returns false and sets *error when it is
  // missing or not a directory.
  bool open(std::string_view root, std::string* error);

  // The resolved root, without a trailing slash; empty before open().
  const std::string& root() const { return root_; }

  // The whole response to `req` (a GET or HEAD): the file, 304, or an error
  // response (400/403/404/500). HEAD gets the same headers and no body.
  BlockRef serve(const Request& req, bool keep_alive) const;

 private:
  std::string root_;
};

}  // namespace chatd
