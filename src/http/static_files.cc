#include "http/static_files.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "base/fd.h"
#include "base/sys.h"
#include "http/date.h"
#include "http/mime.h"
#include "http/path.h"
#include "http/response.h"

namespace chatd {

namespace {

constexpr std::string_view kIndexPath = "/chat.html";

// Strong validator from size and mtime (nanoseconds): changes on any rewrite.
std::string make_etag(const struct stat& st) {
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "\"%llx-%llx\"", (unsigned long long)st.st_size,
                        (unsigned long long)st.st_mtim.tv_sec * 1000000000ull +
                            (unsigned long long)st.st_mtim.tv_nsec);
  return std::string(buf, n);
}

// If-None-Match (RFC 9110 13.1.2): "*" or a list of entity tags compared weakly.
bool etag_matches(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    size_t comma = header.find(',');
    std::string_view tag = header.substr(0, comma);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
    if (tag == "*" || tag == etag) return true;
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return false;
}

bool not_modified(const Request& req, const struct stat& st, std::string_view etag) {
  if (const Header* inm = req.find("if-none-match")) return etag_matches(inm->value, etag);
  if (const Header* ims = req.find("if-modified-since")) {
    auto since = parse_http_date(ims->value);
    return since && st.st_mtim.tv_sec <= *since;
  }
  return false;
}

BlockRef error(int status, bool head_only, bool keep_alive) {
  return make_error_response(status, head_only, keep_alive);
}

}  // namespace

bool StaticFiles::open(std::string_view root, std::string* error) {
  std::string path(root);
  char resolved[PATH_MAX];
  struct stat st;
  if (!realpath(path.c_str(), resolved) || stat(resolved, &st) != 0) {
    if (error) *error = "static root " + path + ": cannot resolve";
    return false;
  }
  if (!S_ISDIR(st.st_mode)) {
    if (error) *error = "static root " + path + ": not a directory";
    return false;
  }
  root_ = resolved;
  if (root_ == "/") root_.clear();  // so root_ + "/x" stays "/x"
  return true;
}

BlockRef StaticFiles::serve(const Request& req, bool keep_alive) const {
  bool head_only = req.method == "HEAD";
  std::string_view path = req.path == "/" ? kIndexPath : req.path;
  std::string decoded;
  if (!percent_decode(path, decoded)) return error(400, head_only, keep_alive);
  if (!is_safe_path(decoded)) return error(404, head_only, keep_alive);

  // realpath catches symlinks anywhere on the path, which O_NOFOLLOW (last
  // component only) would not; O_NOFOLLOW still covers a swap of the last one.
  std::string full = root_ + decoded;
  char resolved[PATH_MAX];
  if (!realpath(full.c_str(), resolved)) return error(404, head_only, keep_alive);
  std::string_view real(resolved);
  if (real.size() <= root_.size() + 1 || real.substr(0, root_.size()) != root_ ||
      real[root_.size()] != '/')
    return error(404, head_only, keep_alive);

  // O_NONBLOCK so a FIFO placed in the tree cannot stall the loop on open.
  UniqueFd fd(int(
      sys_retry([&] { return ::open(resolved, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK); })));
  if (fd.get() < 0) return error(404, head_only, keep_alive);
  struct stat st;
  if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return error(404, head_only, keep_alive);
  size_t size = size_t(st.st_size);
  if (size > kMaxStaticFileBytes)
    return make_response(403, "text/plain; charset=utf-8", "file too large to serve\n", head_only,
                         keep_alive);

  std::string etag = make_etag(st);
  char modified[kHttpDateLen];
  format_http_date(st.st_mtim.tv_sec, modified);
  std::string extra = "ETag: " + etag + "\r\nLast-Modified: ";
  extra.append(modified, kHttpDateLen);
  extra += "\r\nCache-Control: no-cache\r\n";

  if (not_modified(req, st, etag)) return make_response(304, {}, {}, true, keep_alive, extra);

  std::string head = response_head(200, content_type_for(real), size, keep_alive, extra);
  BlockRef b = BlockRef::make(head.size() + (head_only ? 0 : size));
  if (!b) return error(500, head_only, keep_alive);
  b.append(head);
  if (head_only) return b;
  size_t got = 0;
  while (got < size) {
    long n = sys_retry([&] { return ::read(fd.get(), b.tail(), size - got); });
    if (n <= 0) return error(500, head_only, keep_alive);  // error, or the file shrank
    b.commit(size_t(n));
    got += size_t(n);
  }
  return b;
}

}  // namespace chatd
